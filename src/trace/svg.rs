//! Draws a trace as an SVG: one lane per thread (the loop first), slices as
//! bars coloured by name with a legend, instants as ticks, and a time axis.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Event;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 150.0;
const LANE_H: f64 = 46.0;
const TOP: f64 = 40.0;

/// Colours for the slice names, in order of first appearance.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

pub(crate) fn render(events: &[Event], lanes: &[String]) -> String {
    let start = events.iter().map(|e| e.ts).fold(f64::INFINITY, f64::min);
    let end = events
        .iter()
        .map(|e| e.ts + e.dur.unwrap_or(0.0))
        .fold(f64::NEG_INFINITY, f64::max);
    let (start, span) = if start.is_finite() && end > start {
        (start, end - start)
    } else {
        (0.0, 1.0)
    };
    let x = |ts: f64| LEFT + (ts - start) / span * (WIDTH - LEFT - 20.0);
    // Colours for what the loop ran (not for iterations and waits).
    let mut colours: BTreeMap<&str, &str> = BTreeMap::new();
    let mut order: Vec<&str> = Vec::new();
    for e in events {
        if e.dur.is_some() && e.cat == "run" && !colours.contains_key(e.name.as_str()) {
            colours.insert(&e.name, PALETTE[order.len() % PALETTE.len()]);
            order.push(&e.name);
        }
    }
    let legend_rows = order.len().div_ceil(4);
    let height = TOP + lanes.len() as f64 * LANE_H + 40.0 + legend_rows as f64 * 18.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">tulipa timeline: {:.3} s</text>\n",
        span / 1e6
    );
    for (i, lane) in lanes.iter().enumerate() {
        let y = TOP + i as f64 * LANE_H;
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{y}\" width=\"{}\" height=\"{}\" fill=\"#f4f4f4\"/>\
             <text x=\"10\" y=\"{}\">{}</text>",
            WIDTH - LEFT - 20.0,
            LANE_H - 6.0,
            y + LANE_H / 2.0,
            escape(lane)
        );
    }
    for e in events {
        let y = TOP + e.lane as f64 * LANE_H;
        match (e.dur, e.cat) {
            (Some(dur), "run") => {
                let w = (dur / span * (WIDTH - LEFT - 20.0)).max(2.0);
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"{:.1}\" fill=\"{}\"><title>{}</title></rect>",
                    x(e.ts),
                    y + 12.0,
                    LANE_H - 20.0,
                    colours.get(e.name.as_str()).unwrap_or(&"#888"),
                    escape(&e.name)
                );
            }
            (Some(dur), _) => {
                // Iterations and waits: a thin bar along the top of the lane.
                let w = (dur / span * (WIDTH - LEFT - 20.0)).max(1.0);
                let fill = if e.cat == "wait" {
                    "#d0d0d0"
                } else {
                    "#a0a0a0"
                };
                let _ = writeln!(
                    svg,
                    "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{w:.2}\" height=\"4\" fill=\"{fill}\"/>",
                    x(e.ts),
                    y + 2.0
                );
            }
            (None, _) => {
                let _ = writeln!(
                    svg,
                    "<line x1=\"{0:.2}\" x2=\"{0:.2}\" y1=\"{1:.1}\" y2=\"{2:.1}\" stroke=\"#333\"/>",
                    x(e.ts),
                    y + LANE_H - 10.0,
                    y + LANE_H - 6.0
                );
            }
        }
    }
    let axis_y = TOP + lanes.len() as f64 * LANE_H + 5.0;
    for tick in 0..=10 {
        let ts = start + span * tick as f64 / 10.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{:.2}s</text>",
            x(ts),
            axis_y + 12.0,
            (ts - start) / 1e6
        );
    }
    for (i, name) in order.iter().enumerate() {
        let (col, row) = (i % 4, i / 4);
        let lx = 10.0 + col as f64 * 270.0;
        let ly = axis_y + 30.0 + row as f64 * 18.0;
        let _ = writeln!(
            svg,
            "<rect x=\"{lx}\" y=\"{:.1}\" width=\"12\" height=\"12\" fill=\"{}\"/>\
             <text x=\"{}\" y=\"{:.1}\">{}</text>",
            ly - 10.0,
            colours[name],
            lx + 16.0,
            ly,
            escape(name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

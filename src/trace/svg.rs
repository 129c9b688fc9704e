//! Draws a trace as an SVG: the loop's lane split into one row per task (so
//! tasks that ran in the same iteration stay visible side by side), then one
//! lane per other thread (executor workers), a time axis, and iteration and
//! wait bars along the top of the loop lane.

use std::fmt::Write as _;

use super::Event;

const WIDTH: f64 = 1100.0;
const LEFT: f64 = 190.0;
const ROW_H: f64 = 16.0;
const TOP: f64 = 40.0;

/// Colours for the rows, in order of first appearance.
const PALETTE: [&str; 10] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac",
];

/// One horizontal row of the picture.
struct Row {
    label: String,
    lane: usize,
    /// The slice name this row shows (`None`: every slice of the lane).
    name: Option<String>,
}

pub(crate) fn render(events: &[Event], lanes: &[String]) -> String {
    let (start, span) = time_span(events);
    let plot = WIDTH - LEFT - 20.0;
    let x = |ts: f64| LEFT + (ts - start) / span * plot;
    let rows = rows(events, lanes);
    let row_y = |i: usize| TOP + 10.0 + i as f64 * (ROW_H + 4.0);
    let height = row_y(rows.len()) + 40.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         font-family=\"sans-serif\" font-size=\"12\">\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"10\" y=\"20\" font-size=\"14\">tulipa timeline: {:.3} s; \
         each row is one task on the loop thread, or one executor worker</text>\n",
        span / 1e6
    );
    // Iteration and wait bars along the top of the loop lane.
    for e in events.iter().filter(|e| e.lane == 0 && e.cat != "run") {
        if let Some(dur) = e.dur {
            let fill = if e.cat == "wait" {
                "#d8d8d8"
            } else {
                "#a0a0a0"
            };
            let _ = writeln!(
                svg,
                "<rect x=\"{:.2}\" y=\"{:.1}\" width=\"{:.2}\" height=\"3\" fill=\"{fill}\"/>",
                x(e.ts),
                TOP + 4.0,
                (dur / span * plot).max(1.0)
            );
        }
    }
    for (i, row) in rows.iter().enumerate() {
        let y = row_y(i);
        let colour = PALETTE[i % PALETTE.len()];
        let _ = writeln!(
            svg,
            "<rect x=\"{LEFT}\" y=\"{y:.1}\" width=\"{plot}\" height=\"{ROW_H}\" fill=\"#f4f4f4\"/>\
             <text x=\"10\" y=\"{:.1}\">{}</text>",
            y + ROW_H - 4.0,
            escape(&row.label)
        );
        for e in events.iter().filter(|e| {
            e.lane == row.lane && e.cat == "run" && row.name.as_deref().is_none_or(|n| n == e.name)
        }) {
            let w = (e.dur.unwrap_or(0.0) / span * plot).max(2.0);
            let _ = writeln!(
                svg,
                "<rect x=\"{:.2}\" y=\"{y:.1}\" width=\"{w:.2}\" height=\"{ROW_H}\" fill=\"{colour}\">\
                 <title>{} at {:.6} s</title></rect>",
                x(e.ts),
                escape(&e.name),
                (e.ts - start) / 1e6
            );
        }
    }
    let axis_y = row_y(rows.len()) + 12.0;
    for tick in 0..=10 {
        let ts = start + span * f64::from(tick) / 10.0;
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{axis_y:.1}\" text-anchor=\"middle\" fill=\"#555\">{:.2}s</text>",
            x(ts),
            (ts - start) / 1e6
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// First timestamp and total span of the events, in microseconds.
fn time_span(events: &[Event]) -> (f64, f64) {
    let start = events.iter().map(|e| e.ts).fold(f64::INFINITY, f64::min);
    let end = events
        .iter()
        .map(|e| e.ts + e.dur.unwrap_or(0.0))
        .fold(f64::NEG_INFINITY, f64::max);
    if start.is_finite() && end > start {
        (start, end - start)
    } else {
        (0.0, 1.0)
    }
}

/// One row per task seen on the loop lane (in order of first appearance),
/// then one per other lane.
fn rows(events: &[Event], lanes: &[String]) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for e in events.iter().filter(|e| e.lane == 0 && e.cat == "run") {
        if !rows
            .iter()
            .any(|r| r.name.as_deref() == Some(e.name.as_str()))
        {
            rows.push(Row {
                label: format!("loop: {}", e.name),
                lane: 0,
                name: Some(e.name.clone()),
            });
        }
    }
    for (lane, name) in lanes.iter().enumerate().skip(1) {
        rows.push(Row {
            label: name.clone(),
            lane,
            name: None,
        });
    }
    rows
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

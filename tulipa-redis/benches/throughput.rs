//! put → get → task_done messages per second through one local Redis,
//! 1 producer and 4 consumers, against the same XADD / XREADGROUP / XACK
//! workload on the `redis` crate (tokio, current-thread) and on redis-py's
//! asyncio client, and `redis-benchmark`'s pipelined XADD as the server's
//! ceiling. All run against one `redis-server` this bench starts, in
//! interleaved rounds; medians of the rounds and ratios from the same run.
//!
//! `cargo bench -p tulipa-redis --bench throughput` (env `ROUNDS`, `MESSAGES`).
//! Needs `redis-server`, `redis-benchmark` and `python3 -m pip install redis`
//! (a missing peer is reported and skipped).

use std::cell::Cell;
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

use tulipa_redis::{cmd, QueueOptions, RedisQueue};

/// Messages per pipelined batch (producer) and per read (consumers);
/// env `BATCH`, default 64.
fn batch() -> usize {
    static B: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *B.get_or_init(|| env_num("BATCH", 64))
}
const CONSUMERS: usize = 4;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

struct Server {
    child: std::process::Child,
    port: u16,
    dir: std::path::PathBuf,
}

impl Server {
    fn start() -> Server {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = std::env::temp_dir().join(format!("tulipa-redis-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--dir"])
            .arg(&dir)
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server on PATH");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(10));
        }
        Server { child, port, dir }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// tulipa-redis: RedisQueue put (a plain XADD, unbounded queue), get with
/// prefetch BATCH (XREADGROUP COUNT), task_done (XACK + one GET of the
/// shutdown marker per batch of acks; a trim every 64 acks).
fn tulipa_redis(port: u16, stream: &str, n: usize) -> f64 {
    let url = format!("redis://127.0.0.1:{port}");
    let stream = stream.to_string();
    tulipa::run(async move {
        let opts = QueueOptions::default()
            .prefetch(batch())
            .block(Duration::from_millis(100));
        let producer = RedisQueue::<Vec<u8>>::connect_with(&url, &stream, "g", "p", opts.clone())
            .await
            .unwrap();
        let acked = Rc::new(Cell::new(0usize));
        let mut consumers = Vec::new();
        for i in 0..CONSUMERS {
            let q = RedisQueue::<Vec<u8>>::connect_with(
                &url,
                &stream,
                "g",
                &format!("c{i}"),
                opts.clone(),
            )
            .await
            .unwrap();
            consumers.push(q);
        }
        let start = Instant::now();
        let tasks: Vec<_> = consumers
            .into_iter()
            .map(|q| {
                let acked = acked.clone();
                tulipa::spawn(async move {
                    while acked.get() < n {
                        let Ok(Ok(first)) =
                            tulipa::wait_for(q.get(), Duration::from_millis(200)).await
                        else {
                            continue;
                        };
                        let mut batch = vec![first];
                        while q.buffered() > 0 {
                            batch.push(q.get().await.unwrap());
                        }
                        let k = batch.len();
                        for r in tulipa::gather(batch.into_iter().map(|d| d.task_done())).await {
                            r.unwrap();
                        }
                        acked.set(acked.get() + k);
                    }
                })
            })
            .collect();
        let payload = vec![b'x'; 16];
        let mut sent = 0;
        while sent < n {
            let k = batch().min(n - sent);
            for r in tulipa::gather((0..k).map(|_| producer.put(&payload))).await {
                r.unwrap();
            }
            sent += k;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        producer.destroy().await.unwrap();
        rate
    })
    .unwrap()
}

/// The `redis` crate on a current-thread tokio runtime: XADD pipelined in
/// batches, XREADGROUP COUNT BATCH, one XACK per message (a batch's XACKs
/// in flight together on a multiplexed connection).
fn redis_rs(port: u16, stream: &str, n: usize) -> f64 {
    use redis::AsyncCommands;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let stream = stream.to_string();
    rt.block_on(async move {
        let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).unwrap();
        let mut admin = client.get_multiplexed_async_connection().await.unwrap();
        let _: () = admin
            .xgroup_create_mkstream(&stream, "g", "0")
            .await
            .unwrap();
        let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let mut conns = Vec::new();
        for _ in 0..CONSUMERS {
            conns.push(client.get_multiplexed_async_connection().await.unwrap());
        }
        let mut producer = client.get_multiplexed_async_connection().await.unwrap();
        let start = Instant::now();
        let mut tasks = Vec::new();
        for (i, conn) in conns.into_iter().enumerate() {
            let acked = acked.clone();
            let stream = stream.clone();
            tasks.push(tokio::spawn(async move {
                use std::sync::atomic::Ordering;
                let opts = redis::streams::StreamReadOptions::default()
                    .group("g", format!("c{i}"))
                    .count(batch())
                    .block(100);
                while acked.load(Ordering::Relaxed) < n {
                    let mut c = conn.clone();
                    let reply: redis::streams::StreamReadReply =
                        c.xread_options(&[&stream], &[">"], &opts).await.unwrap();
                    let ids: Vec<String> = reply
                        .keys
                        .into_iter()
                        .flat_map(|k| k.ids.into_iter().map(|e| e.id))
                        .collect();
                    let k = ids.len();
                    let acks = ids.into_iter().map(|id| {
                        let mut c = conn.clone();
                        let stream = stream.clone();
                        async move {
                            let _: i64 = c.xack(&stream, "g", &[id]).await.unwrap();
                        }
                    });
                    futures_join_all(acks).await;
                    acked.fetch_add(k, Ordering::Relaxed);
                }
            }));
        }
        let payload = vec![b'x'; 16];
        let mut sent = 0;
        while sent < n {
            let k = batch().min(n - sent);
            let mut pipe = redis::pipe();
            for _ in 0..k {
                pipe.xadd(&stream, "*", &[("d", &payload)]);
            }
            let _: Vec<String> = pipe.query_async(&mut producer).await.unwrap();
            sent += k;
        }
        for t in tasks {
            t.await.unwrap();
        }
        let rate = n as f64 / start.elapsed().as_secs_f64();
        let _: () = admin.del(&stream).await.unwrap();
        rate
    })
}

/// Awaits every future, all in flight together (a tiny `join_all`).
async fn futures_join_all<F: std::future::Future<Output = ()>>(futs: impl Iterator<Item = F>) {
    let mut futs: Vec<_> = futs.map(Box::pin).collect();
    std::future::poll_fn(|cx| {
        futs.retain_mut(|f| f.as_mut().poll(cx).is_pending());
        if futs.is_empty() {
            std::task::Poll::Ready(())
        } else {
            std::task::Poll::Pending
        }
    })
    .await
}

fn redis_py(port: u16, stream: &str, n: usize) -> Option<f64> {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/redis_py_queue.py");
    let out = Command::new("python3")
        .arg(script)
        .args([&port.to_string(), stream, &n.to_string()])
        .args([&batch().to_string(), &CONSUMERS.to_string()])
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "redis-py peer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return None;
    }
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

fn redis_benchmark(port: u16, n: usize) -> Option<f64> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-q", "-n", &(n * 5).to_string()])
        .args(["-P", &batch().to_string(), "-c", "1"])
        .args(["XADD", "ceiling", "*", "d", "xxxxxxxxxxxxxxxx"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("requests per second") {
        eprintln!(
            "redis-benchmark: {text} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // "XADD ceiling * d ...: 523560.22 requests per second, p50=..."
    // (its progress updates before that are separated by carriage returns)
    let line = text
        .split(['\r', '\n'])
        .rev()
        .find(|l| l.contains("requests per second"))?;
    let rate = line.split(": ").nth(1)?.split_whitespace().next()?;
    rate.parse().ok()
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let rounds = env_num("ROUNDS", 5);
    let n = env_num("MESSAGES", 20_000);
    let server = Server::start();
    let port = server.port;
    if std::env::var("ONLY_TULIPA").is_ok() {
        for round in 0..rounds {
            let r = tulipa_redis(port, &format!("t{round}"), n);
            eprintln!("tulipa-redis {r:.0}/s");
        }
        return;
    }
    if std::env::var("PROBE").is_ok() {
        raw_probe(port, n);
        ack_probe(port, n);
        ack_probe(port, n);
        return;
    }
    let (mut ours, mut rs, mut py, mut ceiling) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        ours.push(tulipa_redis(port, &format!("t{round}"), n));
        rs.push(redis_rs(port, &format!("r{round}"), n));
        py.push(redis_py(port, &format!("p{round}"), n));
        ceiling.push(redis_benchmark(port, n));
        tulipa::run(async move {
            let c = tulipa_redis::Client::connect(&format!("redis://127.0.0.1:{port}"))
                .await
                .unwrap();
            c.query(cmd("DEL").arg("ceiling")).await.unwrap();
        })
        .unwrap();
        eprintln!(
            "round {round}: tulipa-redis {:.0}/s, redis-rs {:.0}/s, redis-py {:.0?}/s, ceiling {:.0?}/s",
            ours[round], rs[round], py[round], ceiling[round]
        );
    }
    let ours_m = median(&mut ours.clone());
    println!("redis queue throughput: {n} messages, 1 producer, {CONSUMERS} consumers, batch {}, {rounds} rounds", batch());
    println!("(medians; the ratio column is the median of the per-round ratios, each round's runs back to back)");
    println!("  tulipa-redis RedisQueue      {ours_m:>10.0} msg/s");
    let report = |name: &str, unit: &str, peer: &[Option<f64>], what: &str| {
        let mut rates: Vec<f64> = peer.iter().flatten().copied().collect();
        if rates.is_empty() {
            println!("  {name:<28} skipped");
            return;
        }
        let mut ratios: Vec<f64> = ours
            .iter()
            .zip(peer)
            .filter_map(|(o, p)| p.map(|p| o / p))
            .collect();
        let m = median(&mut rates);
        let r = median(&mut ratios);
        if what == "%" {
            println!(
                "  {name:<28} {m:>10.0} {unit}   tulipa-redis / ceiling = {:.0}%",
                100.0 * r
            );
        } else {
            println!("  {name:<28} {m:>10.0} {unit}   tulipa-redis / {what} = {r:.2}x");
        }
    };
    let rs: Vec<Option<f64>> = rs.into_iter().map(Some).collect();
    report("redis crate (tokio 1 thread)", "msg/s", &rs, "redis-rs");
    report("redis-py asyncio", "msg/s", &py, "redis-py");
    report(
        &format!("redis-benchmark XADD -P {}", batch()),
        "req/s",
        &ceiling,
        "%",
    );
}

/// `PROBE=1`: what one command costs through this client, plain XADD
/// against a one-line EVALSHA, both in batches of BATCH in flight.
fn raw_probe(port: u16, n: usize) {
    let url = format!("redis://127.0.0.1:{port}");
    tulipa::run(async move {
        let c = tulipa_redis::Client::connect(&url).await.unwrap();
        for (name, script) in [("xadd", false), ("evalsha", true)] {
            let sha = c
                .query(
                    cmd("SCRIPT")
                        .arg("LOAD")
                        .arg("return redis.call('XADD', KEYS[1], '*', 'd', ARGV[1])"),
                )
                .await
                .unwrap();
            let sha = sha.as_str().unwrap().to_string();
            let start = Instant::now();
            let mut sent = 0;
            while sent < n {
                let k = batch().min(n - sent);
                let futs = (0..k).map(|_| {
                    if script {
                        cmd("EVALSHA")
                            .arg(&sha)
                            .arg(1)
                            .arg("probe")
                            .arg("xxxxxxxxxxxxxxxx")
                    } else {
                        cmd("XADD")
                            .arg("probe")
                            .arg("*")
                            .arg("d")
                            .arg("xxxxxxxxxxxxxxxx")
                    }
                });
                let cmds: Vec<_> = futs.collect();
                let qs = cmds.into_iter().map(|x| c.query(x));
                for r in tulipa::gather(qs).await {
                    r.unwrap();
                }
                sent += k;
            }
            eprintln!(
                "probe {name}: {:.0}/s",
                n as f64 / start.elapsed().as_secs_f64()
            );
        }
    })
    .unwrap();
}

/// `PROBE=1`: the cost of the ways to ack (and delete) an entry.
fn ack_probe(port: u16, n: usize) {
    let url = format!("redis://127.0.0.1:{port}");
    tulipa::run(async move {
        let c = tulipa_redis::Client::connect(&url).await.unwrap();
        let sha = c
            .query(cmd("SCRIPT").arg("LOAD").arg("local n = redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) redis.call('XDEL', KEYS[1], ARGV[2]) redis.call('HDEL', KEYS[2], ARGV[2]) return {n, redis.call('GET', KEYS[3])}"))
            .await
            .unwrap();
        let sha = sha.as_str().unwrap().to_string();
        for mode in ["lua", "multi", "pair", "xack"] {
            let s = format!("ack-{mode}");
            c.query(cmd("XGROUP").arg("CREATE").arg(&s).arg("g").arg("0").arg("MKSTREAM")).await.unwrap();
            let mut ids = Vec::new();
            for chunk in 0..(n / batch()) {
                let _ = chunk;
                let cmds: Vec<_> = (0..batch()).map(|_| cmd("XADD").arg(&s).arg("*").arg("d").arg("x")).collect();
                for r in c.pipeline(cmds).await.unwrap() {
                    ids.push(r.unwrap().as_str().unwrap().to_string());
                }
            }
            c.query(cmd("XREADGROUP").arg("GROUP").arg("g").arg("c").arg("STREAMS").arg(&s).arg(">")).await.unwrap();
            let start = Instant::now();
            for chunk in ids.chunks(batch()) {
                let mut cmds = Vec::new();
                for id in chunk {
                    match mode {
                        "lua" => cmds.push(cmd("EVALSHA").arg(&sha).arg(3).arg(&s).arg("h").arg("m").arg("g").arg(id)),
                        "multi" => {
                            cmds.push(cmd("MULTI"));
                            cmds.push(cmd("XACK").arg(&s).arg("g").arg(id));
                            cmds.push(cmd("XDEL").arg(&s).arg(id));
                            cmds.push(cmd("EXEC"));
                        }
                        "pair" => {
                            cmds.push(cmd("XACK").arg(&s).arg("g").arg(id));
                            cmds.push(cmd("XDEL").arg(&s).arg(id));
                        }
                        _ => cmds.push(cmd("XACK").arg(&s).arg("g").arg(id)),
                    }
                }
                for r in c.pipeline(cmds).await.unwrap() {
                    r.unwrap();
                }
            }
            eprintln!("ack probe {mode}: {:.0}/s", ids.len() as f64 / start.elapsed().as_secs_f64());
        }
        c.query(cmd("FLUSHALL")).await.unwrap();
    })
    .unwrap();
}

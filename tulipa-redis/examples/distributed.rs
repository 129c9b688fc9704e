//! A producer and consumers in separate processes sharing one Redis stream.
//!
//! ```text
//! cargo run -p tulipa-redis --example distributed            # the whole demo
//! distributed --role producer --url redis://127.0.0.1:6379 --stream jobs --count 30
//! distributed --role consumer --url redis://127.0.0.1:6379 --stream jobs --name c1
//! ```
//!
//! The default mode starts its own `redis-server` on a free port, one
//! producer and three consumer processes, prints who consumed what, checks
//! that every item was acked exactly once and exits 0.
//!
//! Consumer options for tests: `--min-idle-ms`, `--prefetch`, `--work-ms`,
//! `--hold-after K` (after K acks, take one more item and never ack it:
//! a consumer that hangs or is killed while holding work) and `--ack-file P`
//! (wait for file P to exist before each ack).

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::time::Duration;

use tulipa_redis::{QueueError, QueueOptions, RedisQueue};

struct Args(Vec<String>);

impl Args {
    fn get(&self, name: &str) -> Option<String> {
        let flag = format!("--{name}");
        let i = self.0.iter().position(|a| *a == flag)?;
        self.0.get(i + 1).cloned()
    }
    fn num(&self, name: &str, default: u64) -> u64 {
        self.get(name)
            .map(|v| v.parse().expect("a number"))
            .unwrap_or(default)
    }
}

fn options(args: &Args) -> QueueOptions {
    QueueOptions::default()
        .min_idle(Duration::from_millis(args.num("min-idle-ms", 1000)))
        .prefetch(args.num("prefetch", 4) as usize)
        .block(Duration::from_millis(100))
        .poll(Duration::from_millis(10))
}

async fn produce(args: &Args) -> Result<(), QueueError> {
    let url = args.get("url").expect("--url");
    let stream = args.get("stream").unwrap_or_else(|| "jobs".into());
    let count = args.num("count", 30);
    let q = RedisQueue::<String>::connect_with(&url, &stream, "workers", "producer", options(args))
        .await?;
    for i in 0..count {
        q.put(format!("item-{i}")).await?;
    }
    println!("producer put {count} items");
    q.join().await?;
    println!("producer: all items acked");
    q.shutdown(false).await?;
    Ok(())
}

async fn consume(args: &Args) -> Result<(), QueueError> {
    let url = args.get("url").expect("--url");
    let stream = args.get("stream").unwrap_or_else(|| "jobs".into());
    let name = args.get("name").expect("--name");
    let work = Duration::from_millis(args.num("work-ms", 0));
    let hold_after = args.get("hold-after").map(|v| v.parse::<u64>().unwrap());
    let ack_file = args.get("ack-file");
    let q =
        RedisQueue::<String>::connect_with(&url, &stream, "workers", &name, options(args)).await?;
    let mut acked = 0;
    loop {
        let d = match q.get().await {
            Ok(d) => d,
            Err(QueueError::ShutDown) => break,
            Err(e) => return Err(e),
        };
        println!("{name} got {} delivery={}", d.item(), d.deliveries());
        if hold_after == Some(acked) {
            println!("{name} holding {}", d.item());
            loop {
                tulipa::sleep(Duration::from_secs(3600)).await;
            }
        }
        if !work.is_zero() {
            tulipa::sleep(work).await;
        }
        if let Some(f) = &ack_file {
            while !std::path::Path::new(f).exists() {
                tulipa::sleep(Duration::from_millis(5)).await;
            }
        }
        let item = d.item().clone();
        if d.task_done().await? {
            println!("{name} acked {item}");
            acked += 1;
        } else {
            println!("{name} late {item}");
        }
    }
    println!("{name} done");
    Ok(())
}

/// The demo: its own redis-server, one producer, three consumers.
fn demo() -> Result<(), String> {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let dir = std::env::temp_dir().join(format!("tulipa-redis-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let mut server = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .args(["--save", "", "--appendonly", "no", "--dir"])
        .arg(&dir)
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start redis-server: {e}"))?;
    let result = run_demo(port);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run_demo(port: u16) -> Result<(), String> {
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if std::time::Instant::now() > deadline {
            return Err("redis-server did not start".into());
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let me = std::env::current_exe().map_err(|e| e.to_string())?;
    let count = 30;
    let stream = "demo-jobs";
    let mut roles = vec![vec![
        "--role".to_string(),
        "producer".into(),
        "--count".into(),
        count.to_string(),
    ]];
    for i in 1..=3 {
        roles.push(vec![
            "--role".into(),
            "consumer".into(),
            "--name".into(),
            format!("consumer-{i}"),
            "--work-ms".into(),
            "5".into(),
        ]);
    }
    let mut children = Vec::new();
    for role in roles {
        let child = Command::new(&me)
            .args(&role)
            .args(["--url", &url, "--stream", stream])
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| e.to_string())?;
        children.push(child);
    }
    let readers: Vec<_> = children
        .iter_mut()
        .map(|c| {
            let out = c.stdout.take().expect("piped");
            std::thread::spawn(move || {
                BufReader::new(out)
                    .lines()
                    .map_while(Result::ok)
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let mut ok = true;
    for mut c in children {
        ok &= c.wait().map(|s| s.success()).unwrap_or(false);
    }
    let mut by_consumer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut acked = BTreeSet::new();
    for r in readers {
        for line in r.join().map_err(|_| "reader panicked")? {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [who, "acked", item] = words[..] {
                by_consumer
                    .entry(who.to_string())
                    .or_default()
                    .push(item.to_string());
                if !acked.insert(item.to_string()) {
                    return Err(format!("{item} acked twice"));
                }
            }
        }
    }
    for (who, items) in &by_consumer {
        println!("{who} consumed {} items: {}", items.len(), items.join(" "));
    }
    if !ok {
        return Err("a child process failed".into());
    }
    if acked.len() != count {
        return Err(format!("{} of {count} items acked", acked.len()));
    }
    println!("all {count} items consumed and acked exactly once");
    Ok(())
}

fn main() -> ExitCode {
    let args = Args(std::env::args().skip(1).collect());
    let result = match args.get("role").as_deref() {
        Some("producer") => tulipa::run(produce(&args))
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string())),
        Some("consumer") => tulipa::run(consume(&args))
            .map_err(|e| e.to_string())
            .and_then(|r| r.map_err(|e| e.to_string())),
        None => demo(),
        Some(other) => Err(format!("unknown role {other}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("distributed: {e}");
            ExitCode::FAILURE
        }
    }
}

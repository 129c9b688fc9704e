//! `RedisQueue` and `PriorityQueue`: tulipa's queue API on Redis Streams.

use std::borrow::Borrow;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::scripts::{self, Script};
use crate::{cmd, Client, ClientOptions, Item, RedisError, Value};

/// Why a queue operation failed.
///
/// # Examples
///
/// ```
/// use tulipa_redis::QueueError;
/// assert_eq!(QueueError::ShutDown.to_string(), "the queue is shut down");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueError {
    /// The queue was shut down (asyncio's `QueueShutDown`), by this handle
    /// or by any other handle on the same stream.
    ShutDown,
    /// `try_put` on a queue holding `maxsize` undelivered items (`QueueFull`).
    Full,
    /// `try_get` found nothing to deliver (`QueueEmpty`).
    Empty,
    /// The item could not be encoded or an entry could not be decoded. A bad
    /// entry stays pending and ends in the dead-letter stream after
    /// `max_deliveries`.
    Codec {
        /// The stream entry id (empty when encoding).
        id: String,
        /// What was wrong.
        message: String,
    },
    /// Redis failed (after the retries of [`QueueOptions::retry_for`] for
    /// connection errors).
    Redis(RedisError),
}

impl fmt::Display for QueueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueError::ShutDown => f.write_str("the queue is shut down"),
            QueueError::Full => f.write_str("the queue is full"),
            QueueError::Empty => f.write_str("the queue is empty"),
            QueueError::Codec { id, message } => write!(f, "bad queue item {id}: {message}"),
            QueueError::Redis(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for QueueError {}

impl From<RedisError> for QueueError {
    fn from(e: RedisError) -> QueueError {
        QueueError::Redis(e)
    }
}

/// How a queue was shut down (asyncio 3.13's `Queue.shutdown(immediate)`).
///
/// # Examples
///
/// ```
/// assert_ne!(tulipa_redis::ShutdownMode::Graceful, tulipa_redis::ShutdownMode::Immediate);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    /// `shutdown(immediate=False)`: puts fail, gets drain what is left.
    Graceful,
    /// `shutdown(immediate=True)`: undelivered items are dropped, gets fail.
    Immediate,
}

/// Settings of a [`RedisQueue`] / [`PriorityQueue`].
///
/// Every `Duration` is valid; `Duration::MAX` means "never" for `min_idle`.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use tulipa_redis::QueueOptions;
///
/// let o = QueueOptions::default().maxsize(100).prefetch(16).min_idle(Duration::from_secs(5));
/// assert_eq!((o.maxsize, o.prefetch), (100, 16));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct QueueOptions {
    /// Most undelivered items before `put` waits (0 = unbounded). Default 0.
    pub maxsize: usize,
    /// Items fetched per `XREADGROUP COUNT` into the local buffer `get` serves
    /// from. Buffered items are pending for this consumer: keep
    /// `prefetch` × processing time below `min_idle`. Default 1.
    pub prefetch: usize,
    /// How long an item may stay pending with a consumer before another
    /// consumer claims it. Default 30 s.
    pub min_idle: Duration,
    /// Deliveries after which an item that is again idle goes to the
    /// dead-letter stream instead (0 = never). Default 5.
    pub max_deliveries: u64,
    /// Longest single `XREADGROUP BLOCK`; also how soon a blocked `get`
    /// notices a shutdown made elsewhere. Default 500 ms.
    pub block: Duration,
    /// How often `join` and a full `put` poll the server. Default 20 ms.
    pub poll: Duration,
    /// How long a queue operation retries after connection errors. Default 10 s.
    pub retry_for: Duration,
    /// Options of the two client connections.
    pub client: ClientOptions,
}

impl Default for QueueOptions {
    fn default() -> QueueOptions {
        QueueOptions {
            maxsize: 0,
            prefetch: 1,
            min_idle: Duration::from_secs(30),
            max_deliveries: 5,
            block: Duration::from_millis(500),
            poll: Duration::from_millis(20),
            retry_for: Duration::from_secs(10),
            client: ClientOptions::default(),
        }
    }
}

macro_rules! setter {
    ($(#[$doc:meta])* $name:ident: $t:ty) => {
        $(#[$doc])*
        pub fn $name(mut self, v: $t) -> Self {
            self.$name = v;
            self
        }
    };
}

impl QueueOptions {
    setter!(
        /// Sets [`maxsize`](Self::maxsize).
        ///
        /// # Examples
        ///
        /// ```
        /// assert_eq!(tulipa_redis::QueueOptions::default().maxsize(3).maxsize, 3);
        /// ```
        maxsize: usize
    );
    setter!(
        /// Sets [`prefetch`](Self::prefetch) (0 is taken as 1).
        ///
        /// # Examples
        ///
        /// ```
        /// assert_eq!(tulipa_redis::QueueOptions::default().prefetch(8).prefetch, 8);
        /// ```
        prefetch: usize
    );
    setter!(
        /// Sets [`min_idle`](Self::min_idle).
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = tulipa_redis::QueueOptions::default().min_idle(Duration::MAX);
        /// assert_eq!(o.min_idle, Duration::MAX);
        /// ```
        min_idle: Duration
    );
    setter!(
        /// Sets [`max_deliveries`](Self::max_deliveries).
        ///
        /// # Examples
        ///
        /// ```
        /// assert_eq!(tulipa_redis::QueueOptions::default().max_deliveries(2).max_deliveries, 2);
        /// ```
        max_deliveries: u64
    );
    setter!(
        /// Sets [`block`](Self::block).
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = tulipa_redis::QueueOptions::default().block(Duration::from_millis(50));
        /// assert_eq!(o.block, Duration::from_millis(50));
        /// ```
        block: Duration
    );
    setter!(
        /// Sets [`poll`](Self::poll).
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// let o = tulipa_redis::QueueOptions::default().poll(Duration::from_millis(5));
        /// assert_eq!(o.poll, Duration::from_millis(5));
        /// ```
        poll: Duration
    );
    setter!(
        /// Sets [`retry_for`](Self::retry_for).
        ///
        /// # Examples
        ///
        /// ```
        /// let o = tulipa_redis::QueueOptions::default().retry_for(std::time::Duration::ZERO);
        /// assert!(o.retry_for.is_zero());
        /// ```
        retry_for: Duration
    );
    setter!(
        /// Sets the [`client`](Self::client) options.
        ///
        /// # Examples
        ///
        /// ```
        /// use std::time::Duration;
        /// use tulipa_redis::{ClientOptions, QueueOptions};
        /// let o = QueueOptions::default().client(ClientOptions::default().reconnect_for(Duration::ZERO));
        /// assert!(o.client.reconnect_for.is_zero());
        /// ```
        client: ClientOptions
    );
}

/// An entry moved to the dead-letter stream.
///
/// # Examples
///
/// ```
/// let d = tulipa_redis::DeadLetter {
///     id: "1-0".into(), deliveries: 3, history: "c1 (idle 200 ms)".into(), payload: b"x".to_vec(),
/// };
/// assert_eq!(d.deliveries, 3);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// Its id in the queue's stream.
    pub id: String,
    /// How many times it was delivered.
    pub deliveries: u64,
    /// The consumers that held it and let it go idle, oldest first.
    pub history: String,
    /// The item's encoded bytes.
    pub payload: Vec<u8>,
}

/// One buffered entry.
#[derive(Debug)]
struct Entry {
    level: usize,
    id: String,
    payload: Option<Vec<u8>>,
    deliveries: u64,
}

#[derive(Debug)]
struct Core {
    cmd: Client,
    blocking: Client,
    levels: Vec<String>,
    group: String,
    consumer: String,
    marker: String,
    dead: String,
    history: String,
    opts: QueueOptions,
    buffer: RefCell<VecDeque<Entry>>,
    next_claim: Cell<Instant>,
    shutdown: Cell<Option<ShutdownMode>>,
    put: Script,
    trim: Script,
    acks: Cell<usize>,
    marker_check: Cell<bool>,
    /// Deliveries handed out by this handle and not yet dropped.
    outstanding: Cell<usize>,
    reclaim: Script,
    count: Script,
    stop: Script,
}

/// While alive, a marker read is queued with an ack; acks sent meanwhile
/// skip their own.
struct MarkerCheck<'a>(&'a Cell<bool>);

impl<'a> MarkerCheck<'a> {
    fn claim(flag: &'a Cell<bool>) -> Option<MarkerCheck<'a>> {
        (!flag.replace(true)).then_some(MarkerCheck(flag))
    }
}

impl Drop for MarkerCheck<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

/// Acks between two trims of a stream's acked entries.
const TRIM_EVERY: usize = 64;

fn mode_of(v: &Value) -> Option<ShutdownMode> {
    match v.as_bytes() {
        Some(b"immediate") => Some(ShutdownMode::Immediate),
        Some(_) => Some(ShutdownMode::Graceful),
        None => None,
    }
}

fn ms(d: Duration) -> u64 {
    d.as_millis().min(u64::MAX as u128) as u64
}

impl Core {
    async fn connect(
        url: &str,
        base: &str,
        levels: Vec<String>,
        group: &str,
        consumer: &str,
        opts: QueueOptions,
    ) -> Result<Core, QueueError> {
        let cmd_client = Client::connect_with(url, opts.client.clone()).await?;
        let blocking = cmd_client.duplicate().await?;
        for stream in &levels {
            let created = cmd_client
                .query(
                    cmd("XGROUP")
                        .arg("CREATE")
                        .arg(stream)
                        .arg(group)
                        .arg("0")
                        .arg("MKSTREAM"),
                )
                .await;
            match created {
                Err(e) if e.code() == Some("BUSYGROUP") => {}
                other => {
                    other?;
                }
            }
        }
        let core = Core {
            cmd: cmd_client,
            blocking,
            levels,
            group: group.to_string(),
            consumer: consumer.to_string(),
            marker: format!("{base}:shutdown"),
            dead: format!("{base}:dead"),
            history: format!("{base}:history"),
            opts,
            buffer: RefCell::new(VecDeque::new()),
            next_claim: Cell::new(tulipa::now()),
            shutdown: Cell::new(None),
            put: Script::new(scripts::PUT),
            trim: Script::new(scripts::TRIM),
            acks: Cell::new(0),
            marker_check: Cell::new(false),
            outstanding: Cell::new(0),
            reclaim: Script::new(scripts::RECLAIM),
            count: Script::new(scripts::COUNT),
            stop: Script::new(scripts::SHUTDOWN),
        };
        for s in [
            &core.put,
            &core.trim,
            &core.reclaim,
            &core.count,
            &core.stop,
        ] {
            s.load(&core.cmd).await?;
        }
        Ok(core)
    }

    /// Runs `op` again after connection errors, for up to `retry_for`.
    async fn retry<F, Fut, R>(&self, mut op: F) -> Result<R, QueueError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<R, QueueError>>,
    {
        let deadline = tulipa::now().checked_add(self.opts.retry_for);
        let mut delay = Duration::from_millis(5);
        loop {
            match op().await {
                Err(QueueError::Redis(e))
                    if e.is_retryable() && deadline.is_none_or(|d| tulipa::now() + delay < d) =>
                {
                    log::debug!("redis queue: retrying after {e}");
                    crate::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_millis(500));
                }
                other => return other,
            }
        }
    }

    fn note_marker(&self, v: &Value) {
        if let Some(mode) = mode_of(v) {
            if self.shutdown.get() != Some(ShutdownMode::Immediate) {
                self.shutdown.set(Some(mode));
            }
        }
    }

    async fn try_put_once(&self, level: usize, payload: &[u8]) -> Result<String, QueueError> {
        if self.opts.maxsize == 0 {
            // A plain XADD: a shut-down stream refuses it by itself (see
            // the SHUTDOWN script).
            let added = self
                .cmd
                .query(
                    cmd("XADD")
                        .arg(&self.levels[level])
                        .arg("*")
                        .arg("d")
                        .arg(payload),
                )
                .await;
            return match added {
                Ok(id) => Ok(id.as_str().unwrap_or_default().to_string()),
                Err(RedisError::Server(msg)) if msg.contains("exhausted") => {
                    self.saw_shutdown();
                    Err(QueueError::ShutDown)
                }
                Err(e) => Err(e.into()),
            };
        }
        let mut keys: Vec<&str> = vec![&self.levels[level], &self.marker];
        keys.extend(self.levels.iter().map(String::as_str));
        let max = self.opts.maxsize.to_string();
        let reply = self
            .put
            .run(
                &self.cmd,
                &keys,
                &[max.as_bytes(), self.group.as_bytes(), payload],
            )
            .await?;
        let parts = reply
            .clone()
            .into_array()
            .ok_or_else(|| RedisError::unexpected(&reply))?;
        match parts.first().and_then(Value::as_int) {
            Some(0) => Ok(parts
                .get(1)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()),
            Some(1) => Err(QueueError::Full),
            Some(2) => {
                self.saw_shutdown();
                Err(QueueError::ShutDown)
            }
            _ => Err(RedisError::unexpected(&reply).into()),
        }
    }

    fn saw_shutdown(&self) {
        if self.shutdown.get().is_none() {
            self.shutdown.set(Some(ShutdownMode::Graceful));
        }
    }

    async fn try_put(&self, level: usize, payload: &[u8]) -> Result<String, QueueError> {
        if self.shutdown.get().is_some() {
            return Err(QueueError::ShutDown);
        }
        self.retry(|| self.try_put_once(level, payload)).await
    }

    async fn put(&self, level: usize, payload: &[u8]) -> Result<String, QueueError> {
        let mut delay = Duration::from_millis(1);
        loop {
            match self.try_put(level, payload).await {
                Err(QueueError::Full) => {
                    crate::time::sleep(delay).await;
                    delay = delay.saturating_mul(2).min(self.opts.poll);
                }
                other => return other,
            }
        }
    }

    /// `XACK`, with the marker read in the same round trip; every
    /// `TRIM_EVERY` acks the acked entries are trimmed from the stream.
    async fn ack(&self, level: usize, id: &str, deliveries: u64) -> Result<bool, QueueError> {
        let stream = self.levels[level].as_str();
        let acks = self.acks.get() + 1;
        self.acks.set(acks);
        let trim = acks % TRIM_EVERY == 0;
        // Acks sent together share one read of the marker.
        let check = MarkerCheck::claim(&self.marker_check);
        let replies = self
            .retry(|| async {
                let mut cmds = vec![cmd("XACK").arg(stream).arg(&self.group).arg(id)];
                if check.is_some() {
                    cmds.push(cmd("GET").arg(&self.marker));
                }
                if deliveries > 1 {
                    cmds.push(cmd("HDEL").arg(&self.history).arg(id));
                }
                if trim {
                    cmds.push(self.trim.cmd(&[stream], &[self.group.as_bytes()]));
                }
                let mut replies = self.cmd.pipeline(cmds).await?.into_iter();
                let acked = replies.next().expect("XACK reply")?;
                let marker = match check {
                    Some(_) => Some(replies.next().expect("GET reply")?),
                    None => None,
                };
                for r in replies {
                    match r {
                        Err(e) if e.code() == Some("NOSCRIPT") => {
                            self.trim
                                .run(&self.cmd, &[stream], &[self.group.as_bytes()])
                                .await?;
                        }
                        other => {
                            other?;
                        }
                    }
                }
                Ok((acked, marker))
            })
            .await?;
        drop(check);
        if let Some(m) = &replies.1 {
            self.note_marker(m);
        }
        Ok(replies.0.as_int() == Some(1))
    }

    /// Claims idle entries of every level into the buffer.
    async fn reclaim(&self) -> Result<usize, QueueError> {
        self.next_claim.set(
            tulipa::now()
                .checked_add((self.opts.min_idle / 2).max(Duration::from_millis(10)))
                .unwrap_or_else(|| tulipa::now() + Duration::from_secs(86400 * 365)),
        );
        if self.opts.min_idle == Duration::MAX {
            return Ok(0);
        }
        let mut got = 0;
        let count = self.opts.prefetch.max(1).to_string();
        let idle = ms(self.opts.min_idle).to_string();
        let max = self.opts.max_deliveries.to_string();
        for (level, stream) in self.levels.iter().enumerate() {
            let keys = [stream.as_str(), &self.dead, &self.history];
            let args: [&[u8]; 5] = [
                self.group.as_bytes(),
                self.consumer.as_bytes(),
                idle.as_bytes(),
                count.as_bytes(),
                max.as_bytes(),
            ];
            let reply = self
                .retry(|| async { Ok(self.reclaim.run(&self.cmd, &keys, &args).await?) })
                .await?;
            let mut parts = reply
                .clone()
                .into_array()
                .ok_or_else(|| RedisError::unexpected(&reply))?
                .into_iter();
            let (Some(examined), Some(entries)) = (parts.next(), parts.next()) else {
                return Err(RedisError::unexpected(&reply).into());
            };
            // A full batch: there may be more idle entries; look again at
            // the next `get` rather than after another min_idle / 2.
            if examined.as_int() >= Some(self.opts.prefetch.max(1) as i64) {
                self.next_claim.set(tulipa::now());
            }
            let entries = entries.into_array().unwrap_or_default();
            let mut buf = self.buffer.borrow_mut();
            for e in entries {
                let mut parts = e.into_array().unwrap_or_default().into_iter();
                let (Some(id), Some(fields), Some(n)) = (parts.next(), parts.next(), parts.next())
                else {
                    continue;
                };
                buf.push_back(Entry {
                    level,
                    id: id.as_str().unwrap_or_default().to_string(),
                    payload: payload_of(fields),
                    deliveries: n.as_int().unwrap_or(1) as u64,
                });
                got += 1;
            }
        }
        Ok(got)
    }

    /// One `XREADGROUP` over every level (with the marker read in the same
    /// round trip); `block` = None reads without blocking.
    async fn read(&self, block: Option<Duration>) -> Result<usize, QueueError> {
        let mut c = cmd("XREADGROUP")
            .arg("GROUP")
            .arg(&self.group)
            .arg(&self.consumer)
            .arg("COUNT")
            .arg(self.opts.prefetch.max(1));
        if let Some(b) = block {
            // Redis refuses timeouts past its clock's range; a day at a
            // time is as good as forever, the loop blocks again.
            c = c.arg("BLOCK").arg(ms(b).clamp(1, 86_400_000));
        }
        c = c.arg("STREAMS");
        for s in &self.levels {
            c.push(s);
        }
        for _ in &self.levels {
            c.push(">");
        }
        let replies = self
            .retry(|| async {
                let cmds = vec![cmd("GET").arg(&self.marker), c.clone()];
                let mut r = self
                    .blocking
                    .pipeline_blocking(cmds, block.unwrap_or(Duration::ZERO))
                    .await?
                    .into_iter();
                let marker = r.next().expect("two replies")?;
                let read = r.next().expect("two replies")?;
                Ok((marker, read))
            })
            .await?;
        self.note_marker(&replies.0);
        let mut got = Vec::new();
        for (stream, entries) in stream_pairs(replies.1) {
            let Some(level) = self
                .levels
                .iter()
                .position(|s| stream.as_bytes() == Some(s.as_bytes()))
            else {
                continue;
            };
            for e in entries.into_array().unwrap_or_default() {
                let mut parts = e.into_array().unwrap_or_default().into_iter();
                let (Some(id), fields) = (parts.next(), parts.next()) else {
                    continue;
                };
                got.push(Entry {
                    level,
                    id: id.as_str().unwrap_or_default().to_string(),
                    payload: fields.and_then(payload_of),
                    deliveries: 1,
                });
            }
        }
        got.sort_by_key(|e| e.level);
        let n = got.len();
        self.buffer.borrow_mut().extend(got);
        Ok(n)
    }

    /// Acks and deletes what this handle buffered (an immediate shutdown
    /// drops undelivered items, and buffered ones were never handed out).
    async fn drain_buffer(&self) -> Result<(), QueueError> {
        let drained: Vec<Entry> = self.buffer.borrow_mut().drain(..).collect();
        for e in drained {
            self.ack(e.level, &e.id, e.deliveries).await?;
        }
        Ok(())
    }

    /// The next entry: buffered, claimed, or read. `wait` = false is `try_get`.
    /// Runs a buffer refill (`read` or `reclaim`) as its own task, shielded:
    /// if the `get` awaiting it is cancelled, the refill still completes and
    /// its entries land in the buffer for the next `get` instead of sitting
    /// pending on the server until `min_idle`.
    async fn refill<F, Fut>(self: &Rc<Self>, op: F) -> Result<usize, QueueError>
    where
        F: FnOnce(Rc<Core>) -> Fut,
        Fut: std::future::Future<Output = Result<usize, QueueError>> + 'static,
    {
        let task = tulipa::spawn(op(self.clone()));
        match tulipa::shield(task).await {
            Ok(result) => result,
            Err(e) => Err(QueueError::Redis(RedisError::Connection {
                kind: std::io::ErrorKind::Other,
                message: format!("queue refill task failed: {e}"),
            })),
        }
    }

    async fn next(self: &Rc<Self>, wait: bool) -> Result<Entry, QueueError> {
        loop {
            if self.shutdown.get() == Some(ShutdownMode::Immediate) {
                self.drain_buffer().await?;
                return Err(QueueError::ShutDown);
            }
            if let Some(e) = self.buffer.borrow_mut().pop_front() {
                return Ok(e);
            }
            let now = tulipa::now();
            if now >= self.next_claim.get()
                && self.refill(|c| async move { c.reclaim().await }).await? > 0
            {
                continue;
            }
            let graceful = self.shutdown.get().is_some();
            let block = if wait && !graceful {
                let to_claim = self
                    .next_claim
                    .get()
                    .saturating_duration_since(tulipa::now());
                Some(self.opts.block.min(to_claim).max(Duration::from_millis(1)))
            } else {
                None
            };
            if self
                .refill(move |c| async move { c.read(block).await })
                .await?
                > 0
            {
                continue;
            }
            match self.shutdown.get() {
                // Seen just now: look again without blocking.
                Some(ShutdownMode::Graceful) if !graceful => continue,
                Some(ShutdownMode::Graceful) => {
                    if self.refill(|c| async move { c.reclaim().await }).await? > 0 {
                        continue;
                    }
                    // Drained only when nothing is pending anywhere but in
                    // this handle's own hands: an item held by a consumer
                    // that died is still claimed after min_idle.
                    let (pending, lag) = self.counts().await?;
                    if lag > 0 {
                        continue;
                    }
                    if pending <= self.outstanding.get() as u64 {
                        return Err(QueueError::ShutDown);
                    }
                    if !wait {
                        return Err(QueueError::Empty);
                    }
                    crate::time::sleep(self.opts.poll.max(Duration::from_millis(1))).await;
                }
                Some(_) => continue,
                None if !wait => return Err(QueueError::Empty),
                None => {}
            }
        }
    }

    async fn counts(&self) -> Result<(u64, u64), QueueError> {
        let mut keys: Vec<&str> = vec![&self.marker];
        keys.extend(self.levels.iter().map(String::as_str));
        let reply = self
            .retry(|| async {
                Ok(self
                    .count
                    .run(&self.cmd, &keys, &[self.group.as_bytes()])
                    .await?)
            })
            .await?;
        let parts = reply
            .clone()
            .into_array()
            .ok_or_else(|| RedisError::unexpected(&reply))?;
        match (
            parts.first().and_then(Value::as_int),
            parts.get(1).and_then(Value::as_int),
        ) {
            (Some(p), Some(l)) => Ok((p.max(0) as u64, l.max(0) as u64)),
            _ => Err(RedisError::unexpected(&reply).into()),
        }
    }

    async fn join(&self) -> Result<(), QueueError> {
        loop {
            let (pending, lag) = self.counts().await?;
            if pending + lag == 0 {
                return Ok(());
            }
            crate::time::sleep(self.opts.poll).await;
        }
    }

    async fn shutdown(&self, immediate: bool) -> Result<u64, QueueError> {
        let mode = if immediate { "immediate" } else { "graceful" };
        let mut keys: Vec<&str> = vec![&self.marker];
        keys.extend(self.levels.iter().map(String::as_str));
        let reply = self
            .retry(|| async {
                Ok(self
                    .stop
                    .run(&self.cmd, &keys, &[mode.as_bytes(), self.group.as_bytes()])
                    .await?)
            })
            .await?;
        self.note_marker(&Value::Bulk(mode.as_bytes().to_vec()));
        if immediate {
            self.drain_buffer().await?;
        }
        Ok(reply.as_int().unwrap_or(0).max(0) as u64)
    }

    async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, QueueError> {
        let reply = self
            .cmd
            .query(
                cmd("XRANGE")
                    .arg(&self.dead)
                    .arg("-")
                    .arg("+")
                    .arg("COUNT")
                    .arg(count),
            )
            .await?;
        let mut out = Vec::new();
        for e in reply.into_array().unwrap_or_default() {
            let mut parts = e.into_array().unwrap_or_default().into_iter();
            let fields = parts.nth(1).and_then(Value::into_array).unwrap_or_default();
            let mut d = DeadLetter {
                id: String::new(),
                deliveries: 0,
                history: String::new(),
                payload: Vec::new(),
            };
            for pair in fields.chunks(2) {
                let (Some(k), Some(v)) = (pair[0].as_bytes(), pair.get(1)) else {
                    continue;
                };
                match k {
                    b"id" => d.id = v.as_str().unwrap_or_default().to_string(),
                    b"deliveries" => d.deliveries = v.as_int().unwrap_or(0) as u64,
                    b"history" => d.history = v.as_str().unwrap_or_default().to_string(),
                    b"d" => d.payload = v.as_bytes().unwrap_or_default().to_vec(),
                    _ => {}
                }
            }
            out.push(d);
        }
        Ok(out)
    }

    async fn destroy(&self) -> Result<(), QueueError> {
        let mut c = cmd("DEL")
            .arg(&self.marker)
            .arg(&self.dead)
            .arg(&self.history);
        for s in &self.levels {
            c.push(s);
        }
        self.cmd.query(c).await?;
        Ok(())
    }
}

/// `XREADGROUP`'s reply as (stream, entries) pairs: RESP2 gives an array of
/// pairs, RESP3 a map.
fn stream_pairs(v: Value) -> Vec<(Value, Value)> {
    match v {
        Value::Map(pairs) => pairs,
        Value::Array(items) => items
            .into_iter()
            .filter_map(|p| {
                let mut it = p.into_array()?.into_iter();
                Some((it.next()?, it.next()?))
            })
            .collect(),
        _ => Vec::new(),
    }
}

fn payload_of(fields: Value) -> Option<Vec<u8>> {
    let fields = fields.into_array()?;
    let mut it = fields.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if k.as_bytes() == Some(b"d") {
            if let Value::Bulk(b) = v {
                return Some(b);
            }
        }
    }
    None
}

/// One item handed out by [`RedisQueue::get`]; [`Delivery::task_done`] acks it.
///
/// Dropping a delivery without `task_done` leaves it pending: after
/// `min_idle` another consumer (or this one) claims it and gets it again.
///
/// # Examples
///
/// ```
/// # let server = tulipa_redis::doctest_server::start();
/// # let url = server.url();
/// # tulipa::run(async {
/// let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
/// q.put("x".to_string()).await.unwrap();
/// let d = q.get().await.unwrap();
/// assert_eq!(d.deliveries(), 1);
/// assert!(d.task_done().await.unwrap());
/// # }).unwrap();
/// ```
pub struct Delivery<T> {
    item: T,
    id: String,
    level: usize,
    deliveries: u64,
    core: Rc<Core>,
    _held: Held,
}

/// Counts a delivery as held by its handle while it lives.
struct Held(Rc<Core>);

impl Held {
    fn new(core: &Rc<Core>) -> Held {
        core.outstanding.set(core.outstanding.get() + 1);
        Held(core.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.outstanding.set(self.0.outstanding.get() - 1);
    }
}

impl<T: fmt::Debug> fmt::Debug for Delivery<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Delivery")
            .field("item", &self.item)
            .field("id", &self.id)
            .field("deliveries", &self.deliveries)
            .finish()
    }
}

impl<T> Delivery<T> {
    /// The item.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().item(), "x");
    /// # }).unwrap();
    /// ```
    pub fn item(&self) -> &T {
        &self.item
    }

    /// The stream entry id (`"1700000000000-0"`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// let id = q.put("x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().id(), id);
    /// # }).unwrap();
    /// ```
    pub fn id(&self) -> &str {
        &self.id
    }

    /// How many times this entry has been delivered, this time included.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().deliveries(), 1);
    /// # }).unwrap();
    /// ```
    pub fn deliveries(&self) -> u64 {
        self.deliveries
    }

    /// The priority level it came from (0 for a [`RedisQueue`]).
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().priority(), 0);
    /// # }).unwrap();
    /// ```
    pub fn priority(&self) -> usize {
        self.level
    }

    /// Acks the item (`XACK`). Acked entries leave the stream in batches:
    /// every 64 acks of a handle, and at every `join`/`len`, the entries
    /// below the oldest pending one are trimmed (`XTRIM MINID`).
    ///
    /// Returns `false` when the entry had already been acked, by a consumer
    /// that claimed it after this one let it go idle.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`] once connection errors outlast `retry_for`
    /// (acking again is harmless, so it is retried; a retried ack whose
    /// first attempt went through returns `false`).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if dropped, the ack may or may not have happened; an
    /// unacked item is delivered again after `min_idle`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// assert!(q.get().await.unwrap().task_done().await.unwrap());
    /// # }).unwrap();
    /// ```
    pub async fn task_done(self) -> Result<bool, QueueError> {
        self.core.ack(self.level, &self.id, self.deliveries).await
    }

    /// Takes the item out, giving up the ack: the entry stays pending and is
    /// delivered again after `min_idle`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "jobs", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().into_item(), "x");
    /// # }).unwrap();
    /// ```
    pub fn into_item(self) -> T {
        self.item
    }
}

/// A FIFO queue shared by processes and machines through one Redis stream.
///
/// `stream` is the stream key; every handle with the same `stream` and
/// `group` shares one queue, each with its own `consumer` name (use a name
/// per process; a restarted process may reuse its name). Items are [`Item`]s:
/// `Vec<u8>`, `String`, or `Json<T>` with the `serde` feature.
///
/// Keys used: `stream`, `stream:dead` (dead letters), `stream:history`
/// (claim history of items redelivered), `stream:shutdown` (the marker).
/// The queue owns the stream: acked entries are trimmed away (everything
/// below the oldest pending entry, every 64 acks and at each `join`/`len`),
/// so one group per stream; an entry pending with a dead consumer holds the
/// trim back until it is claimed and acked or dead-lettered.
///
/// **Shutdown across processes.** [`shutdown`](Self::shutdown) sets the
/// marker and, in the same Lua step, adds and deletes an entry with the
/// largest possible id, so the stream can take no new entry: once it
/// returns, every `put` through any handle fails with
/// [`QueueError::ShutDown`] (a bounded put checks the marker in its own Lua
/// step). Other
/// handles learn of it on their next round trip that reads the marker (a
/// buffer refill, a `task_done`, a `put`), and a `get` blocked in another
/// process within [`QueueOptions::block`]. Graceful: gets go on delivering
/// until the queue is finished everywhere (nothing undelivered, nothing
/// pending except the calling handle's own unacked deliveries), so items
/// held by a consumer that died are still claimed after `min_idle`; then
/// they fail (a `try_get` that finds nothing yet says `Empty`). Immediate: undelivered entries
/// are deleted at once, each handle deletes (acks) what it had prefetched
/// when it learns of it, and gets fail; items already handed out still need
/// their `task_done` for `join` to return. The marker stays until
/// [`destroy`](Self::destroy).
///
/// Needs Redis 6.2 or later (`XPENDING IDLE`, exclusive `XRANGE`); the lag
/// comes from `XINFO GROUPS` on Redis 7 and is counted with `XRANGE` where
/// Redis cannot give it (6.2, or deleted entries ahead of the group).
///
/// The handle is `!Send`: one per loop (thread).
///
/// # Examples
///
/// ```
/// # let server = tulipa_redis::doctest_server::start();
/// # let url = server.url();
/// use tulipa_redis::{QueueOptions, RedisQueue};
///
/// tulipa::run(async {
///     let opts = QueueOptions::default().prefetch(32).maxsize(1000);
///     let q = RedisQueue::<Vec<u8>>::connect_with(&url, "jobs", "g", "c", opts).await?;
///     q.put(b"job".to_vec()).await?;
///     assert_eq!(q.len().await?, 1);
///     let d = q.get().await?;
///     d.task_done().await?;
///     q.join().await?;
///     Ok::<_, tulipa_redis::QueueError>(())
/// })
/// .unwrap()
/// .unwrap();
/// ```
pub struct RedisQueue<T> {
    core: Rc<Core>,
    _items: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for RedisQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisQueue")
            .field("stream", &self.core.levels[0])
            .field("group", &self.core.group)
            .field("consumer", &self.core.consumer)
            .finish()
    }
}

fn deliver<T: Item>(core: &Rc<Core>, e: Entry) -> Result<Delivery<T>, QueueError> {
    let bad = |message: String| QueueError::Codec {
        id: e.id.clone(),
        message,
    };
    let payload = e
        .payload
        .ok_or_else(|| bad("the entry has no `d` field".into()))?;
    let item = T::decode(payload).map_err(bad)?;
    Ok(Delivery {
        item,
        id: e.id,
        level: e.level,
        deliveries: e.deliveries,
        core: core.clone(),
        _held: Held::new(core),
    })
}

fn encode<T: Item>(item: &T) -> Result<Vec<u8>, QueueError> {
    item.encode().map_err(|message| QueueError::Codec {
        id: String::new(),
        message,
    })
}

impl<T: Item> RedisQueue<T> {
    /// Connects with default [`QueueOptions`], creating the stream and the
    /// group if they do not exist.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`] as for [`Client::connect`], or if `stream`
    /// holds something other than a stream.
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// tulipa::run(async {
    ///     let err = tulipa_redis::RedisQueue::<String>::connect("nope://", "s", "g", "c").await.unwrap_err();
    ///     assert!(matches!(err, tulipa_redis::QueueError::Redis(_)));
    /// })
    /// .unwrap();
    /// ```
    pub async fn connect(
        url: &str,
        stream: &str,
        group: &str,
        consumer: &str,
    ) -> Result<RedisQueue<T>, QueueError> {
        RedisQueue::connect_with(url, stream, group, consumer, QueueOptions::default()).await
    }

    /// Connects with `opts`.
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::connect`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let opts = tulipa_redis::QueueOptions::default().maxsize(1);
    /// let q = tulipa_redis::RedisQueue::<String>::connect_with(&url, "s", "g", "c", opts).await.unwrap();
    /// assert_eq!(q.maxsize(), 1);
    /// # }).unwrap();
    /// ```
    pub async fn connect_with(
        url: &str,
        stream: &str,
        group: &str,
        consumer: &str,
        opts: QueueOptions,
    ) -> Result<RedisQueue<T>, QueueError> {
        let core =
            Core::connect(url, stream, vec![stream.to_string()], group, consumer, opts).await?;
        Ok(RedisQueue {
            core: Rc::new(core),
            _items: PhantomData,
        })
    }

    /// Adds `item` (`XADD`), waiting while the queue holds `maxsize`
    /// undelivered items. Returns the entry id.
    ///
    /// # Errors
    ///
    /// [`QueueError::ShutDown`]; [`QueueError::Codec`] if the item does not
    /// encode; [`QueueError::Redis`]. A put retried after a lost reply may
    /// add the item twice (at least once).
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if dropped the item may or may not have been added.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s", "g", "c").await.unwrap();
    /// let id = q.put("x".to_string()).await.unwrap();
    /// assert!(id.contains('-'));
    /// # }).unwrap();
    /// ```
    pub async fn put<B: Borrow<T>>(&self, item: B) -> Result<String, QueueError> {
        let payload = encode(item.borrow())?;
        self.core.put(0, &payload).await
    }

    /// Adds `item` unless the queue is full (asyncio's `put_nowait`; it still
    /// takes one round trip).
    ///
    /// # Errors
    ///
    /// [`QueueError::Full`], then as [`RedisQueue::put`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisQueue::put`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let opts = tulipa_redis::QueueOptions::default().maxsize(1);
    /// let q = tulipa_redis::RedisQueue::<String>::connect_with(&url, "s1", "g", "c", opts).await.unwrap();
    /// q.try_put("a".to_string()).await.unwrap();
    /// assert_eq!(q.try_put("b".to_string()).await, Err(tulipa_redis::QueueError::Full));
    /// # }).unwrap();
    /// ```
    #[doc(alias = "put_nowait")]
    pub async fn try_put<B: Borrow<T>>(&self, item: B) -> Result<String, QueueError> {
        let payload = encode(item.borrow())?;
        self.core.try_put(0, &payload).await
    }

    /// The next item: from the local buffer, else an idle item claimed from
    /// another consumer, else new entries (`XREADGROUP COUNT prefetch
    /// BLOCK`), waiting until one arrives.
    ///
    /// # Errors
    ///
    /// [`QueueError::ShutDown`] once the queue is shut down and (graceful)
    /// nothing is left; [`QueueError::Codec`] for an entry that does not
    /// decode (it stays pending); [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe: a refill started by a cancelled `get` runs to the end in
    /// its own task and its entries wait in the buffer for the next `get`
    /// (only a reply lost with the connection leaves entries pending on the
    /// server, claimed again after `min_idle`).
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// let d = q.get().await.unwrap();
    /// assert_eq!(d.item(), "x");
    /// # }).unwrap();
    /// ```
    pub async fn get(&self) -> Result<Delivery<T>, QueueError> {
        let e = self.core.next(true).await?;
        deliver(&self.core, e)
    }

    /// The next item if one can be delivered now (asyncio's `get_nowait`;
    /// it may take a round trip).
    ///
    /// # Errors
    ///
    /// [`QueueError::Empty`], then as [`RedisQueue::get`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisQueue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "empty", "g", "c").await.unwrap();
    /// assert_eq!(q.try_get().await.unwrap_err(), tulipa_redis::QueueError::Empty);
    /// # }).unwrap();
    /// ```
    #[doc(alias = "get_nowait")]
    pub async fn try_get(&self) -> Result<Delivery<T>, QueueError> {
        let e = self.core.next(false).await?;
        deliver(&self.core, e)
    }

    /// Waits until every item put has been acked (or dead-lettered): the
    /// group's pending count plus its lag is zero. Polls every
    /// [`QueueOptions::poll`].
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s", "g", "c").await.unwrap();
    /// q.put("x".to_string()).await.unwrap();
    /// q.get().await.unwrap().task_done().await.unwrap();
    /// q.join().await.unwrap();
    /// assert_eq!(q.unfinished().await.unwrap(), 0);
    /// # }).unwrap();
    /// ```
    pub async fn join(&self) -> Result<(), QueueError> {
        self.core.join().await
    }

    /// Items not yet handed out by a `get`: undelivered entries (the group's
    /// lag) plus this handle's prefetched ones (asyncio's `qsize`).
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "fresh", "g", "c").await.unwrap();
    /// assert_eq!(q.len().await.unwrap(), 0);
    /// # }).unwrap();
    /// ```
    #[doc(alias = "qsize")]
    pub async fn len(&self) -> Result<usize, QueueError> {
        let (_, lag) = self.core.counts().await?;
        Ok(lag as usize + self.core.buffer.borrow().len())
    }

    /// True when [`len`](Self::len) is 0.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "fresh", "g", "c").await.unwrap();
    /// assert!(q.is_empty().await.unwrap());
    /// # }).unwrap();
    /// ```
    #[doc(alias = "empty")]
    pub async fn is_empty(&self) -> Result<bool, QueueError> {
        Ok(self.len().await? == 0)
    }

    /// Items handed out and not yet acked, across all consumers (the
    /// group's pending count, minus this handle's buffer).
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "fresh", "g", "c").await.unwrap();
    /// assert_eq!(q.unfinished().await.unwrap(), 0);
    /// # }).unwrap();
    /// ```
    pub async fn unfinished(&self) -> Result<usize, QueueError> {
        let (pending, _) = self.core.counts().await?;
        Ok((pending as usize).saturating_sub(self.core.buffer.borrow().len()))
    }

    /// Items this handle has prefetched and not yet handed out: the next
    /// `buffered()` calls of `get` need no round trip.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let opts = tulipa_redis::QueueOptions::default().prefetch(8);
    /// let q = tulipa_redis::RedisQueue::<String>::connect_with(&url, "b", "g", "c", opts).await.unwrap();
    /// for i in 0..3 { q.put(i.to_string()).await.unwrap(); }
    /// let _first = q.get().await.unwrap();
    /// assert_eq!(q.buffered(), 2);
    /// # }).unwrap();
    /// ```
    pub fn buffered(&self) -> usize {
        self.core.buffer.borrow().len()
    }

    /// The bound given in [`QueueOptions::maxsize`] (0 = unbounded).
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s", "g", "c").await.unwrap();
    /// assert_eq!(q.maxsize(), 0);
    /// # }).unwrap();
    /// ```
    pub fn maxsize(&self) -> usize {
        self.core.opts.maxsize
    }

    /// Shuts the queue down for every handle (see the type's documentation
    /// for what other processes see and when). Returns how many undelivered
    /// items an immediate shutdown dropped.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Not cancel safe: if dropped, the shutdown may or may not have happened.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s2", "g", "c").await.unwrap();
    /// q.shutdown(false).await.unwrap();
    /// assert_eq!(q.put("x".to_string()).await, Err(tulipa_redis::QueueError::ShutDown));
    /// # }).unwrap();
    /// ```
    pub async fn shutdown(&self, immediate: bool) -> Result<u64, QueueError> {
        self.core.shutdown(immediate).await
    }

    /// The shutdown this handle knows of, if any.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s3", "g", "c").await.unwrap();
    /// assert_eq!(q.shutdown_mode(), None);
    /// # }).unwrap();
    /// ```
    pub fn shutdown_mode(&self) -> Option<ShutdownMode> {
        self.core.shutdown.get()
    }

    /// Up to `count` entries of the dead-letter stream, oldest first.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s4", "g", "c").await.unwrap();
    /// assert!(q.dead_letters(10).await.unwrap().is_empty());
    /// # }).unwrap();
    /// ```
    pub async fn dead_letters(&self, count: usize) -> Result<Vec<DeadLetter>, QueueError> {
        self.core.dead_letters(count).await
    }

    /// Deletes the stream, its group, dead letters, history and shutdown
    /// marker: the queue starts afresh for the next `connect`.
    ///
    /// # Errors
    ///
    /// [`QueueError::Redis`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s5", "g", "c").await.unwrap();
    /// q.put("left over".to_string()).await.unwrap();
    /// q.destroy().await.unwrap();
    /// let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s5", "g", "c").await.unwrap();
    /// assert_eq!(q.len().await.unwrap(), 0, "a fresh queue");
    /// # }).unwrap();
    /// ```
    pub async fn destroy(self) -> Result<(), QueueError> {
        self.core.destroy().await
    }

    /// The command client this queue uses, for users' own commands.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::RedisQueue::<String>::connect(&url, "s", "g", "c").await.unwrap();
    /// let pong = q.client().query(tulipa_redis::cmd("PING")).await.unwrap();
    /// assert_eq!(pong.as_str(), Some("PONG"));
    /// # }).unwrap();
    /// ```
    pub fn client(&self) -> &Client {
        &self.core.cmd
    }
}

/// A priority queue over one stream per level: `name:p0` (served first),
/// `name:p1`, ... (asyncio's `PriorityQueue`, lowest number first).
///
/// A `get` takes the lowest level that has entries; with `prefetch > 1` one
/// refill may bring lower-priority items that are served before a
/// higher-priority item put after it (prefetch 1 is strict). Shutdown, dead
/// letters (`name:dead`) and `join` cover all levels; `maxsize` bounds
/// their sum.
///
/// # Examples
///
/// ```
/// # let server = tulipa_redis::doctest_server::start();
/// # let url = server.url();
/// use tulipa_redis::PriorityQueue;
///
/// # tulipa::run(async {
/// let q = PriorityQueue::<String>::connect(&url, "tasks", 3, "g", "c").await.unwrap();
/// q.put(2, "low".to_string()).await.unwrap();
/// q.put(0, "urgent".to_string()).await.unwrap();
/// let d = q.get().await.unwrap();
/// assert_eq!((d.priority(), d.item().as_str()), (0, "urgent"));
/// # }).unwrap();
/// ```
pub struct PriorityQueue<T> {
    inner: RedisQueue<T>,
}

impl<T> fmt::Debug for PriorityQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PriorityQueue")
            .field("levels", &self.inner.core.levels)
            .finish()
    }
}

impl<T: Item> PriorityQueue<T> {
    /// Connects to a queue of `levels` priority levels (at least 1).
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::connect`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 2, "g", "c").await.unwrap();
    /// assert_eq!(q.levels(), 2);
    /// # }).unwrap();
    /// ```
    pub async fn connect(
        url: &str,
        name: &str,
        levels: usize,
        group: &str,
        consumer: &str,
    ) -> Result<PriorityQueue<T>, QueueError> {
        PriorityQueue::connect_with(url, name, levels, group, consumer, QueueOptions::default())
            .await
    }

    /// Connects with `opts`.
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::connect`].
    ///
    /// # Cancel safety
    ///
    /// Cancel safe.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let o = tulipa_redis::QueueOptions::default();
    /// let q = tulipa_redis::PriorityQueue::<String>::connect_with(&url, "t", 0, "g", "c", o).await.unwrap();
    /// assert_eq!(q.levels(), 1);
    /// # }).unwrap();
    /// ```
    pub async fn connect_with(
        url: &str,
        name: &str,
        levels: usize,
        group: &str,
        consumer: &str,
        opts: QueueOptions,
    ) -> Result<PriorityQueue<T>, QueueError> {
        let streams = (0..levels.max(1)).map(|i| format!("{name}:p{i}")).collect();
        let core = Core::connect(url, name, streams, group, consumer, opts).await?;
        Ok(PriorityQueue {
            inner: RedisQueue {
                core: Rc::new(core),
                _items: PhantomData,
            },
        })
    }

    /// How many priority levels.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 4, "g", "c").await.unwrap();
    /// assert_eq!(q.levels(), 4);
    /// # }).unwrap();
    /// ```
    pub fn levels(&self) -> usize {
        self.inner.core.levels.len()
    }

    fn level(&self, priority: usize) -> usize {
        priority.min(self.levels() - 1)
    }

    /// Adds `item` at `priority` (0 = first served; beyond the last level
    /// means the last level).
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::put`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisQueue::put`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 2, "g", "c").await.unwrap();
    /// q.put(1, "x".to_string()).await.unwrap();
    /// assert_eq!(q.get().await.unwrap().priority(), 1);
    /// # }).unwrap();
    /// ```
    pub async fn put<B: Borrow<T>>(&self, priority: usize, item: B) -> Result<String, QueueError> {
        let payload = encode(item.borrow())?;
        self.inner.core.put(self.level(priority), &payload).await
    }

    /// [`put`](Self::put) unless the queue is full.
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::try_put`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisQueue::put`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 2, "g", "c").await.unwrap();
    /// q.try_put(0, "x".to_string()).await.unwrap();
    /// assert_eq!(q.queue().len().await.unwrap(), 1);
    /// # }).unwrap();
    /// ```
    pub async fn try_put<B: Borrow<T>>(
        &self,
        priority: usize,
        item: B,
    ) -> Result<String, QueueError> {
        let payload = encode(item.borrow())?;
        self.inner
            .core
            .try_put(self.level(priority), &payload)
            .await
    }

    /// The queue over all levels, for `get`, `try_get`, `join`, `len`,
    /// `shutdown`, `dead_letters` and `destroy`.
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 2, "g", "c").await.unwrap();
    /// q.queue().join().await.unwrap(); // nothing put: returns at once
    /// assert!(q.queue().is_empty().await.unwrap());
    /// # }).unwrap();
    /// ```
    pub fn queue(&self) -> &RedisQueue<T> {
        &self.inner
    }

    /// The highest-priority item (see [`RedisQueue::get`]).
    ///
    /// # Errors
    ///
    /// As [`RedisQueue::get`].
    ///
    /// # Cancel safety
    ///
    /// As [`RedisQueue::get`].
    ///
    /// # Examples
    ///
    /// ```
    /// # let server = tulipa_redis::doctest_server::start();
    /// # let url = server.url();
    /// # tulipa::run(async {
    /// # let q = tulipa_redis::PriorityQueue::<String>::connect(&url, "t", 2, "g", "c").await.unwrap();
    /// q.put(1, "low".to_string()).await.unwrap();
    /// q.put(0, "high".to_string()).await.unwrap();
    /// let d = q.get().await.unwrap();
    /// assert_eq!((d.item().as_str(), d.priority()), ("high", 0));
    /// assert!(d.task_done().await.unwrap());
    /// # }).unwrap();
    /// ```
    pub async fn get(&self) -> Result<Delivery<T>, QueueError> {
        self.inner.get().await
    }
}

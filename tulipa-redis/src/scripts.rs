//! The Lua scripts that make each queue step atomic on the server.

use std::cell::RefCell;

use crate::{cmd, Client, Cmd, RedisError, Value};

/// A script run by `EVALSHA`, falling back to `EVAL` when the server lost
/// its script cache (a restart, `SCRIPT FLUSH`).
#[derive(Debug)]
pub(crate) struct Script {
    src: &'static str,
    sha: RefCell<Option<String>>,
}

impl Script {
    pub(crate) const fn new(src: &'static str) -> Script {
        Script {
            src,
            sha: RefCell::new(None),
        }
    }

    pub(crate) async fn load(&self, client: &Client) -> Result<(), RedisError> {
        let sha = client
            .query(cmd("SCRIPT").arg("LOAD").arg(self.src))
            .await?;
        let sha = sha.as_str().ok_or_else(|| RedisError::unexpected(&sha))?;
        *self.sha.borrow_mut() = Some(sha.to_string());
        Ok(())
    }

    fn build(&self, head: &str, body: &str, keys: &[&str], args: &[&[u8]]) -> Cmd {
        let mut c = cmd(head).arg(body).arg(keys.len());
        for k in keys {
            c.push(*k);
        }
        for a in args {
            c.push(*a);
        }
        c
    }

    /// `EVALSHA` (or `EVAL` before the script is loaded) as a command to
    /// pipeline with others; a `NOSCRIPT` reply means: use [`Script::run`].
    pub(crate) fn cmd(&self, keys: &[&str], args: &[&[u8]]) -> Cmd {
        match &*self.sha.borrow() {
            Some(sha) => self.build("EVALSHA", sha, keys, args),
            None => self.build("EVAL", self.src, keys, args),
        }
    }

    pub(crate) async fn run(
        &self,
        client: &Client,
        keys: &[&str],
        args: &[&[u8]],
    ) -> Result<Value, RedisError> {
        let sha = self.sha.borrow().clone();
        if let Some(sha) = sha {
            match client.query(self.build("EVALSHA", &sha, keys, args)).await {
                Err(e) if e.code() == Some("NOSCRIPT") => {}
                other => return other,
            }
        }
        client.query(self.build("EVAL", self.src, keys, args)).await
    }
}

/// Lua helpers shared by the scripts: the group's fields from XINFO GROUPS;
/// its lag (XINFO's when Redis can compute it, else the entries after the
/// group's last-delivered id, counted); and the trim of acked entries.
macro_rules! helpers {
    () => {
        r#"
local MAX_ID = '18446744073709551615-18446744073709551615'
local function group_info(stream, group)
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', stream)) do
    local h = {}
    for j = 1, #g, 2 do h[g[j]] = g[j + 1] end
    if h['name'] == group then return h end
  end
  return nil
end
-- `counted`: count even when XINFO has a lag (after a shutdown, whose
-- largest-id entry XINFO's lag still includes).
local function group_lag(stream, h, counted)
  if type(h['lag']) == 'number' and not counted then return h['lag'] end
  if h['last-delivered-id'] == MAX_ID then return 0 end
  return #redis.call('XRANGE', stream, '(' .. h['last-delivered-id'], '+')
end
-- Every entry below the oldest pending one (or up to the last delivered
-- when nothing is pending) has been acked: trim them away.
local function trim(stream, group, h)
  local p = redis.call('XPENDING', stream, group)
  local minid
  if p[1] > 0 then
    minid = p[2]
  else
    local last = h['last-delivered-id']
    local ms, seq = string.match(last, '^(%d+)-(%d+)$')
    if ms and #seq < 15 then minid = ms .. '-' .. (tonumber(seq) + 1) else minid = last end
  end
  redis.call('XTRIM', stream, 'MINID', minid)
end
"#
    };
}

/// KEYS: target stream, shutdown marker, every level stream.
/// ARGV: maxsize, group, payload. Returns {0, id} | {1} full | {2} shut down.
/// (An unbounded queue puts with a plain XADD instead.)
pub(crate) const PUT: &str = concat!(
    helpers!(),
    r#"
if redis.call('EXISTS', KEYS[2]) == 1 then return {2} end
local max = tonumber(ARGV[1])
local n = 0
for i = 3, #KEYS do
  local h = group_info(KEYS[i], ARGV[2])
  if h then n = n + group_lag(KEYS[i], h, false) end
end
if n >= max then return {1} end
return {0, redis.call('XADD', KEYS[1], '*', 'd', ARGV[3])}
"#
);

/// KEYS: stream. ARGV: group. Trims the acked entries (acks are plain
/// XACKs; this runs every few acks and from `join`/`len`).
pub(crate) const TRIM: &str = concat!(
    helpers!(),
    r#"
local h = group_info(KEYS[1], ARGV[1])
if h then trim(KEYS[1], ARGV[1], h) end
return 0
"#
);

/// KEYS: stream, dead-letter stream, history hash.
/// ARGV: group, consumer, min_idle_ms, count, max_deliveries (0 = no limit).
/// Claims entries idle for min_idle; an entry already delivered
/// max_deliveries times moves to the dead-letter stream instead, with its
/// original id, delivery count and the consumers that held it.
/// Returns {entries examined, {{id, fields, deliveries}, ...}}.
pub(crate) const RECLAIM: &str = r#"
local pend = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[3], '-', '+', ARGV[4])
local out = {}
local max = tonumber(ARGV[5])
for _, p in ipairs(pend) do
  local id, owner, idle, n = p[1], p[2], p[3], p[4]
  local rec = owner .. ' (idle ' .. idle .. ' ms)'
  local h = redis.call('HGET', KEYS[3], id)
  if h then h = h .. ', ' .. rec else h = rec end
  if max > 0 and n >= max then
    local e = redis.call('XRANGE', KEYS[1], id, id)
    if #e > 0 then
      local args = {'XADD', KEYS[2], '*', 'id', id, 'deliveries', tostring(n), 'history', h}
      local f = e[1][2]
      for i = 1, #f do args[#args + 1] = f[i] end
      redis.call(unpack(args))
    end
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('XDEL', KEYS[1], id)
    redis.call('HDEL', KEYS[3], id)
  else
    local c = redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], ARGV[3], id)
    if #c > 0 and c[1] and c[1][2] then
      redis.call('HSET', KEYS[3], id, h)
      out[#out + 1] = {c[1][1], c[1][2], n + 1}
    else
      redis.call('XACK', KEYS[1], ARGV[1], id)
      redis.call('HDEL', KEYS[3], id)
    end
  end
end
return {#pend, out}
"#;

/// KEYS: shutdown marker, every level stream. ARGV: group.
/// Returns {pending, lag} summed over the levels, and trims acked entries.
pub(crate) const COUNT: &str = concat!(
    helpers!(),
    r#"
local pending, lag = 0, 0
local shut = redis.call('EXISTS', KEYS[1]) == 1
for i = 2, #KEYS do
  local h = group_info(KEYS[i], ARGV[1])
  if not h then
    return redis.error_reply('NOGROUP no consumer group ' .. ARGV[1] .. ' on ' .. KEYS[i])
  end
  pending = pending + h['pending']
  lag = lag + group_lag(KEYS[i], h, shut)
  trim(KEYS[i], ARGV[1], h)
end
return {pending, lag}
"#
);

/// KEYS: shutdown marker, every level stream. ARGV: mode, group.
/// Sets the marker (immediate wins over graceful). Immediate also deletes
/// every entry not yet delivered to the group. Then each stream gets an
/// entry with the largest possible id, deleted at once: its last id can
/// never grow again, so every later plain `XADD *` fails ("exhausted").
/// Returns how many entries it deleted.
pub(crate) const SHUTDOWN: &str = concat!(
    helpers!(),
    r#"
local cur = redis.call('GET', KEYS[1])
if ARGV[1] == 'immediate' or not cur then redis.call('SET', KEYS[1], ARGV[1]) end
local drained = 0
for i = 2, #KEYS do
  local h = group_info(KEYS[i], ARGV[2])
  if ARGV[1] == 'immediate' and h and h['last-delivered-id'] ~= MAX_ID then
    for _, e in ipairs(redis.call('XRANGE', KEYS[i], '(' .. h['last-delivered-id'], '+')) do
      redis.call('XDEL', KEYS[i], e[1])
      drained = drained + 1
    end
  end
  if redis.pcall('XADD', KEYS[i], MAX_ID, 'shutdown', ARGV[1])['err'] == nil then
    redis.call('XDEL', KEYS[i], MAX_ID)
  end
  if ARGV[1] == 'immediate' and h then
    redis.call('XGROUP', 'SETID', KEYS[i], ARGV[2], '$')
  end
end
return drained
"#
);

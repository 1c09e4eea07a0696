//! A fleet of processes against a rate-limited STS, in simulated time
//! (issue 21). The library's processes run the real refresh policy: every
//! decision below calls `kafka_iam_oauth::policy` (when to refresh, the
//! backoff inside a mint, the negative cache, background retries), and the
//! control flow mirrors `src/cache.rs` (one single-flight mint per
//! process, the refresh loop, serving a still-valid token when a mint
//! fails). Two baselines the library is compared with:
//! - `Librdkafka80`: one token per process, minted by the STS SDK call
//!   in librdkafka's refresh callback (confluent-kafka's AWS handler:
//!   boto3, legacy retry mode), refreshed by librdkafka at 80 % of the
//!   lifetime without jitter, retried 10 s after a failure;
//! - `PerConnection`: the same, but each of a process's connections
//!   mints its own token (a provider with no cache at all).
//!
//! Used by `tests/fleet/bounded.rs` (1,000 processes, bounded, in `make
//! test`) and `benches/fleet_sim.rs` (`make fleet-sim`: 10,000 pods).

#![allow(dead_code)]

use kafka_iam_oauth::policy;
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// librdkafka retries the refresh callback this long after a failure
/// (`rd_kafka_oauthbearer_set_token_failure`).
pub const LIBRDKAFKA_RETRY: Duration = Duration::from_secs(10);
/// librdkafka calls the refresh callback at this fraction of the token's
/// remaining lifetime.
pub const LIBRDKAFKA_REFRESH: f64 = 0.8;
/// botocore's default (legacy) retry mode: 5 attempts, the n-th retry
/// after `random * 2^(n-1)` seconds.
pub const BOTO_ATTEMPTS: u32 = 5;

/// Who mints the tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// This library: one cache entry per process.
    Library,
    /// One token per process, minted on librdkafka's schedule.
    Librdkafka80,
    /// One token per connection, each on librdkafka's schedule.
    PerConnection { connections: u32 },
}

impl Model {
    pub fn name(&self) -> String {
        match self {
            Model::Library => "kafka-iam-oauth".into(),
            Model::Librdkafka80 => "librdkafka 80% (confluent-kafka AWS handler)".into(),
            Model::PerConnection { connections } => {
                format!("naive per-connection ({connections} connections)")
            }
        }
    }
}

/// STS's account-wide token bucket.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limit {
    pub rps: f64,
    pub burst: u32,
}

#[derive(Debug, Clone)]
pub struct Params {
    pub model: Model,
    pub processes: u32,
    /// Processes start uniformly within this window.
    pub start_within: Duration,
    /// Token lifetime (`duration_seconds`).
    pub lifetime: Duration,
    /// Simulated time.
    pub horizon: Duration,
    pub limit: Option<Limit>,
    pub seed: u64,
    /// The library's rules after a throttle (`policy::mint_backoff`,
    /// `policy::refresh_at_after_throttling`); false: the rules before
    /// issue 21 (`MINT_BACKOFF` always, `policy::refresh_at`), for the
    /// before/after comparison.
    pub throttle_rules: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// STS calls and throttles per simulated second.
    pub per_second: Vec<(u64, u64)>,
    /// Per process: time from its start to its first token (all of its
    /// connections' for `PerConnection`); `None`: never got one.
    pub first_token: Vec<Option<Duration>>,
    pub calls: u64,
    pub throttled: u64,
    /// Errors handed to a waiting client (no valid token to serve).
    pub failed_waits: u64,
}

impl Outcome {
    /// Largest first-token wait (`None` if a process never got one).
    pub fn max_first_token(&self) -> Option<Duration> {
        self.first_token
            .iter()
            .copied()
            .collect::<Option<Vec<_>>>()
            .map(|v| v.into_iter().max().unwrap_or_default())
    }

    /// The `q` quantile (0..=1) of the first-token waits of the processes
    /// that got one.
    pub fn first_token_quantile(&self, q: f64) -> Duration {
        let mut v: Vec<_> = self.first_token.iter().flatten().copied().collect();
        v.sort();
        if v.is_empty() {
            return Duration::ZERO;
        }
        v[((v.len() - 1) as f64 * q).round() as usize]
    }

    /// Peak calls in one second within `[from, to)` seconds.
    pub fn peak(&self, from: usize, to: usize) -> u64 {
        self.per_second
            .iter()
            .take(to)
            .skip(from)
            .map(|s| s.0)
            .max()
            .unwrap_or(0)
    }

    /// Peak of the calls per second averaged over `window` seconds, within
    /// `[from, to)` seconds (one-second counts of a few per second are
    /// noisy; the 10-s average shows the waves).
    pub fn peak_avg(&self, from: usize, to: usize, window: usize) -> f64 {
        let calls: Vec<u64> = self.per_second.iter().map(|s| s.0).collect();
        let to = to.min(calls.len());
        (from..to.saturating_sub(window - 1))
            .map(|i| calls[i..i + window].iter().sum::<u64>() as f64 / window as f64)
            .fold(0.0, f64::max)
    }

    /// Calls and throttles from second `from` on.
    pub fn after(&self, from: usize) -> (u64, u64) {
        self.per_second
            .iter()
            .skip(from)
            .fold((0, 0), |(c, t), s| (c + s.0, t + s.1))
    }

    /// The last second with a throttle, if any.
    pub fn throttled_until(&self) -> Option<usize> {
        self.per_second.iter().rposition(|s| s.1 > 0)
    }
}

/// SplitMix64: a seeded, dependency-free source of `[0, 1)` numbers.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Bucket {
    limit: Option<Limit>,
    tokens: f64,
    at: Duration,
}

impl Bucket {
    fn admit(&mut self, now: Duration) -> bool {
        let Some(l) = self.limit else { return true };
        let dt = now.saturating_sub(self.at).as_secs_f64();
        self.tokens = (self.tokens + dt * l.rps).min(f64::from(l.burst));
        self.at = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Ev {
    /// The client (librdkafka's refresh callback) asks for a token.
    Ask { conn: u32 },
    /// One STS call of a mint: attempt `n`.
    Attempt { conn: u32, n: u32 },
    /// The library's refresh loop wakes for token generation `gen`.
    Refresh { gen: u64, attempt: u32 },
}

/// What one library process (one cache entry) holds, as in `cache.rs`.
#[derive(Default, Clone)]
struct Entry {
    /// Minted at, expires at, refresh due at.
    token: Option<(Duration, Duration, Duration)>,
    /// STS's last throttling answer to this process (the Minter's).
    throttled_at: Option<Duration>,
    gen: u64,
    failure: Option<(Duration, u32)>,
    flight: bool,
    caller_waiting: bool,
    /// The refresh loop waits on the flight (its retry count).
    refresh_waiting: Option<u32>,
    first: Option<Duration>,
}

/// One connection's token for the baselines.
#[derive(Default, Clone)]
struct Conn {
    expires: Option<Duration>,
    first: Option<Duration>,
}

struct Sim {
    p: Params,
    rng: Rng,
    base: Instant,
    queue: BinaryHeap<Reverse<(Duration, u64, u32, Ev)>>,
    seq: u64,
    sts: Bucket,
    out: Outcome,
    starts: Vec<Duration>,
    entries: Vec<Entry>,
    conns: Vec<Vec<Conn>>,
}

/// Runs one simulation.
pub fn run(p: Params) -> Outcome {
    let seconds = p.horizon.as_secs() as usize + 1;
    let conns_per = match p.model {
        Model::PerConnection { connections } => connections,
        _ => 1,
    };
    let mut sim = Sim {
        rng: Rng(p.seed),
        base: Instant::now(),
        queue: BinaryHeap::new(),
        seq: 0,
        sts: Bucket {
            limit: p.limit,
            tokens: p.limit.map_or(0.0, |l| f64::from(l.burst)),
            at: Duration::ZERO,
        },
        out: Outcome {
            per_second: vec![(0, 0); seconds],
            first_token: vec![None; p.processes as usize],
            ..Outcome::default()
        },
        starts: Vec::new(),
        entries: vec![Entry::default(); p.processes as usize],
        conns: vec![vec![Conn::default(); conns_per as usize]; p.processes as usize],
        p,
    };
    for pid in 0..sim.p.processes {
        let start = sim.p.start_within.mul_f64(sim.rng.next());
        sim.starts.push(start);
        for conn in 0..conns_per {
            sim.push(start, pid, Ev::Ask { conn });
        }
    }
    while let Some(Reverse((t, _, pid, ev))) = sim.queue.pop() {
        if t > sim.p.horizon {
            break;
        }
        match (sim.p.model, ev) {
            (Model::Library, Ev::Ask { .. }) => sim.lib_ask(t, pid),
            (Model::Library, Ev::Attempt { n, .. }) => sim.lib_attempt(t, pid, n),
            (Model::Library, Ev::Refresh { gen, attempt }) => sim.lib_refresh(t, pid, gen, attempt),
            (_, Ev::Ask { conn }) => sim.sdk_attempt(t, pid, conn, 0),
            (_, Ev::Attempt { conn, n }) => sim.sdk_attempt(t, pid, conn, n),
            (_, Ev::Refresh { .. }) => unreachable!(),
        }
    }
    sim.finish()
}

impl Sim {
    fn push(&mut self, t: Duration, pid: u32, ev: Ev) {
        self.seq += 1;
        self.queue.push(Reverse((t, self.seq, pid, ev)));
    }

    fn at(&self, t: Duration) -> Instant {
        self.base + t
    }

    /// One STS call at `t`: counted, and admitted or throttled.
    fn call_sts(&mut self, t: Duration) -> bool {
        let ok = self.sts.admit(t);
        let s = &mut self.out.per_second[t.as_secs() as usize];
        s.0 += 1;
        self.out.calls += 1;
        if !ok {
            s.1 += 1;
            self.out.throttled += 1;
        }
        ok
    }

    // ---- the library: cache.rs's control flow, policy.rs's decisions

    /// The client gets a token at `t`; librdkafka asks again at 80 % of
    /// what it has left.
    fn lib_served(&mut self, t: Duration, pid: u32, expires: Duration) {
        let e = &mut self.entries[pid as usize];
        e.first.get_or_insert(t);
        let next = t + (expires - t).mul_f64(LIBRDKAFKA_REFRESH);
        self.push(next, pid, Ev::Ask { conn: 0 });
    }

    fn lib_refused(&mut self, t: Duration, pid: u32) {
        self.out.failed_waits += 1;
        self.push(t + LIBRDKAFKA_RETRY, pid, Ev::Ask { conn: 0 });
    }

    fn lib_ask(&mut self, t: Duration, pid: u32) {
        let now = self.at(t);
        let e = &self.entries[pid as usize];
        if let Some((_, exp, refresh)) = e.token {
            if policy::hand_out_at_once(self.at(exp), self.at(refresh), now) {
                return self.lib_served(t, pid, exp);
            }
        }
        if let Some((retry_at, _)) = e.failure {
            if retry_at > t {
                return match e.token {
                    Some((_, exp, _)) if policy::still_valid(self.at(exp), now) => {
                        self.lib_served(t, pid, exp)
                    }
                    _ => self.lib_refused(t, pid),
                };
            }
        }
        let e = &mut self.entries[pid as usize];
        e.caller_waiting = true;
        if !e.flight {
            e.flight = true;
            self.push(t, pid, Ev::Attempt { conn: 0, n: 0 });
        }
    }

    fn lib_attempt(&mut self, t: Duration, pid: u32, n: u32) {
        let now = self.at(t);
        if self.call_sts(t) {
            let exp = t + self.p.lifetime;
            let r = self.rng.next();
            let throttled_at = self.entries[pid as usize].throttled_at.map(|t| self.at(t));
            let refresh =
                if self.p.throttle_rules && policy::spread_after_throttling(throttled_at, now) {
                    policy::refresh_at_after_throttling(now, self.at(exp), r)
                } else {
                    policy::refresh_at(now, self.at(exp), r)
                } - self.base;
            let e = &mut self.entries[pid as usize];
            e.token = Some((t, exp, refresh));
            e.gen += 1;
            e.failure = None;
            e.flight = false;
            e.refresh_waiting = None;
            let gen = e.gen;
            if std::mem::take(&mut e.caller_waiting) {
                self.lib_served(t, pid, exp);
            }
            self.push(refresh, pid, Ev::Refresh { gen, attempt: 0 });
            return;
        }
        // Every refusal here is STS throttling.
        self.entries[pid as usize].throttled_at = Some(t);
        if n + 1 < policy::MINT_ATTEMPTS {
            let schedule = if self.p.throttle_rules {
                policy::mint_backoff(true)
            } else {
                policy::MINT_BACKOFF
            };
            let delay = policy::retry_delay(n, schedule, self.rng.next());
            self.push(t + delay, pid, Ev::Attempt { conn: 0, n: n + 1 });
            return;
        }
        // The mint failed: the negative cache remembers it.
        let r = self.rng.next();
        let e = &mut self.entries[pid as usize];
        let in_a_row = e.failure.map_or(0, |(_, n)| n.saturating_add(1));
        e.failure = Some((t + policy::failure_backoff(in_a_row, true, r), in_a_row));
        e.flight = false;
        let valid = e
            .token
            .filter(|&(_, exp, _)| policy::still_valid(self.base + exp, now));
        if std::mem::take(&mut e.caller_waiting) {
            match valid {
                Some((_, exp, _)) => self.lib_served(t, pid, exp),
                None => self.lib_refused(t, pid),
            }
        }
        let e = &mut self.entries[pid as usize];
        if let (Some(attempt), Some((_, exp, _))) = (e.refresh_waiting.take(), valid) {
            let gen = e.gen;
            let wait = policy::refresh_retry_delay(attempt, self.at(exp), now, self.rng.next());
            self.push(
                t + wait,
                pid,
                Ev::Refresh {
                    gen,
                    attempt: attempt + 1,
                },
            );
        }
    }

    fn lib_refresh(&mut self, t: Duration, pid: u32, gen: u64, attempt: u32) {
        let e = &mut self.entries[pid as usize];
        if e.gen != gen {
            return; // a newer token has its own refresh
        }
        e.refresh_waiting = Some(attempt);
        if !e.flight {
            e.flight = true;
            self.push(t, pid, Ev::Attempt { conn: 0, n: 0 });
        }
    }

    // ---- the baselines: the SDK call in librdkafka's refresh callback

    fn sdk_attempt(&mut self, t: Duration, pid: u32, conn: u32, n: u32) {
        let c = conn as usize;
        if self.call_sts(t) {
            let exp = t + self.p.lifetime;
            let state = &mut self.conns[pid as usize][c];
            state.expires = Some(exp);
            state.first.get_or_insert(t);
            let next = t + self.p.lifetime.mul_f64(LIBRDKAFKA_REFRESH);
            self.push(next, pid, Ev::Ask { conn });
            return;
        }
        if n + 1 < BOTO_ATTEMPTS {
            let delay = Duration::from_secs_f64(self.rng.next() * f64::from(1u32 << n));
            self.push(t + delay, pid, Ev::Attempt { conn, n: n + 1 });
            return;
        }
        let state = &self.conns[pid as usize][c];
        if !state.expires.is_some_and(|e| e > t) {
            self.out.failed_waits += 1;
        }
        self.push(t + LIBRDKAFKA_RETRY, pid, Ev::Ask { conn });
    }

    fn finish(mut self) -> Outcome {
        for pid in 0..self.p.processes as usize {
            let start = self.starts[pid];
            let got = match self.p.model {
                Model::Library => self.entries[pid].first,
                _ => self.conns[pid]
                    .iter()
                    .map(|c| c.first)
                    .collect::<Option<Vec<_>>>()
                    .and_then(|v| v.into_iter().max()),
            };
            self.out.first_token[pid] = got.map(|g| g - start);
        }
        self.out
    }
}

/// Calls per second when every process refreshes on schedule with no
/// throttling: what the fleet needs from STS once start-up is over.
pub fn steady_rate(p: &Params) -> f64 {
    let tokens = match p.model {
        Model::PerConnection { connections } => f64::from(p.processes * connections),
        _ => f64::from(p.processes),
    };
    let period = match p.model {
        Model::Library => {
            p.lifetime.as_secs_f64() * (policy::REFRESH_FRACTION + policy::REFRESH_JITTER / 2.0)
        }
        _ => p.lifetime.as_secs_f64() * LIBRDKAFKA_REFRESH,
    };
    tokens / period
}

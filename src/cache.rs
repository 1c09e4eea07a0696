//! The process-wide token cache: one entry per distinct effective
//! configuration, single-flight minting, refresh-ahead in the background,
//! and the rule that a failed refresh never discards a valid token.
//!
//! Hot path ([`Entry::cached`]): lock-free loads (`ArcSwap`) and relaxed
//! atomics, no allocation, no network, no lock. Everything that waits runs
//! on the library's runtime.

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::policy;
use crate::runtime::{self, fork_generation};
use crate::sts::Minter;
use crate::token::Token;
use arc_swap::{ArcSwap, ArcSwapOption};
use futures::future::{BoxFuture, FutureExt, Shared};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

type MintFuture = Shared<BoxFuture<'static, Result<Arc<Token>>>>;

/// One mint in progress, shared by everyone who asks meanwhile.
struct Flight {
    /// Unique per flight, so a finished mint clears only its own flight.
    id: u64,
    generation: u64,
    future: MintFuture,
}

static NEXT_FLIGHT: AtomicU64 = AtomicU64::new(1);

/// Clears its entry's flight when dropped, if that is still flight `id`:
/// whatever ends the mint task (return, panic, cancel, runtime shutdown),
/// the next caller that needs STS starts a new mint instead of waiting on
/// a dead one forever.
struct ClearFlight<'a> {
    entry: &'a Entry,
    id: u64,
}

impl Drop for ClearFlight<'_> {
    fn drop(&mut self) {
        let current = self.entry.flight.load_full();
        if current.as_ref().is_some_and(|f| f.id == self.id) {
            self.entry.flight.compare_and_swap(&current, None);
        }
    }
}

/// The user-facing error for a task of ours that did not finish: never the
/// panic's message (it may quote anything), only what happened.
pub(crate) fn join_error(e: tokio::task::JoinError) -> Error {
    let what = if e.is_panic() {
        "kafka-iam-oauth internal error while getting a token (a bug, please report it); \
         the next call tries again"
    } else {
        "kafka-iam-oauth internal error: the token task was cancelled (is the process shutting down?)"
    };
    Error::new(ErrorKind::Internal, what).with_retryable(true)
}

/// Test hooks, for the integration tests in `tests/` only. Not part of the API.
#[doc(hidden)]
pub mod testing {
    use parking_lot::Mutex;
    use std::sync::atomic::{AtomicBool, Ordering};

    static ARMED: AtomicBool = AtomicBool::new(false);
    static PANIC_AUDIENCES: Mutex<Vec<String>> = Mutex::new(Vec::new());

    /// Runs the registry's idle sweep as if `later` had passed; returns how
    /// many entries it evicted.
    pub fn sweep_as_if_after(later: std::time::Duration) -> usize {
        let mut guard = super::registry();
        match guard.as_mut() {
            Some(registry) => super::sweep(registry, std::time::Instant::now() + later),
            None => 0,
        }
    }

    /// Runs the registry's idle sweep now (as the background sweep and
    /// provider creation do); returns how many entries it evicted.
    pub fn sweep_now() -> usize {
        sweep_as_if_after(std::time::Duration::ZERO)
    }

    /// Makes entries evictable after `idle` instead of
    /// `policy::IDLE_EVICTION` (the soak benchmark and test only, so they
    /// need not wait 10 minutes); the background sweep runs every `idle / 2`
    /// and lookups sweep at most every `min(SWEEP_INTERVAL, idle / 2)`.
    /// `Duration::ZERO` restores the default.
    pub fn set_idle_eviction(idle: std::time::Duration) {
        let millis = u64::try_from(idle.as_millis()).unwrap_or(u64::MAX);
        super::IDLE_OVERRIDE_MS.store(millis, Ordering::Relaxed);
    }

    /// The eviction time in force: `policy::IDLE_EVICTION`, or what
    /// [`set_idle_eviction`] set. Front doors that remember providers (the
    /// Python `oauth_cb` map) release them on the same schedule.
    pub fn idle_eviction() -> std::time::Duration {
        super::idle_eviction()
    }

    /// Cache entries in the registry (evicted ones are gone).
    pub fn entry_count() -> usize {
        super::registry().as_ref().map_or(0, |r| r.entries.len())
    }

    /// Cache entries still allocated: those in the registry plus evicted
    /// ones something still references (a mint in flight, a caller). Equal
    /// to `entry_count()` once evicted entries are freed.
    pub fn entries_alive() -> u64 {
        super::ENTRIES_ALIVE.load(Ordering::Relaxed)
    }

    /// Minters (SDK client + credential chain) alive in this process: one
    /// per distinct shared part of the configurations in use.
    pub fn minters_alive() -> usize {
        super::registry().as_ref().map_or(0, |r| {
            r.minters
                .values()
                .filter(|(_, m)| m.strong_count() > 0)
                .count()
        })
    }

    /// Credential chains (SDK config, STS client, credential provider)
    /// built in this process so far (rebuilds after a credentials failure
    /// and after fork included).
    pub fn credential_chains_built() -> u64 {
        crate::sts::CHAINS_BUILT.load(Ordering::Relaxed)
    }

    /// How many token replicas this thread holds (bounded by
    /// `MAX_REPLICAS_PER_THREAD`).
    pub fn replicas_on_this_thread() -> usize {
        super::REPLICAS.with(|r| r.borrow().slots.len())
    }

    /// `MAX_REPLICAS_PER_THREAD`.
    pub const MAX_REPLICAS_PER_THREAD: usize = super::MAX_REPLICAS_PER_THREAD;

    /// The next mint for a configuration with this `audience` panics inside
    /// the mint task (once).
    pub fn panic_in_next_mint(audience: &str) {
        PANIC_AUDIENCES.lock().push(audience.to_string());
        ARMED.store(true, Ordering::SeqCst);
    }

    pub(crate) fn maybe_panic(audience: &str) {
        if !ARMED.load(Ordering::Relaxed) {
            return;
        }
        let hit = {
            let mut list = PANIC_AUDIENCES.lock();
            let found = list.iter().position(|a| a == audience);
            found.map(|i| list.swap_remove(i)).is_some()
        };
        if hit {
            panic!("injected test panic inside a mint (panic-secret-text)");
        }
    }
}

/// Entries allocated and not yet dropped (evicted ones included until
/// their last reference goes): `testing::entries_alive`.
static ENTRIES_ALIVE: AtomicU64 = AtomicU64::new(0);

impl Drop for Entry {
    fn drop(&mut self) {
        ENTRIES_ALIVE.fetch_sub(1, Ordering::Relaxed);
        if let Some(task) = self.refresh_task.load_full() {
            // Only this process's runtime: a parent's (after fork) has no
            // threads to tell.
            if task.0 == fork_generation() {
                task.1.abort();
            }
        }
    }
}

/// A remembered failure (see [`policy::failure_backoff`]).
struct Failure {
    error: Error,
    /// No new mint starts for callers before this.
    retry_at: Instant,
    /// Failures before this one since the last success.
    in_a_row: u32,
}

/// `e` with `note` appended to its message; kind, AWS code and
/// retryability kept.
fn with_note(e: &Error, note: std::fmt::Arguments<'_>) -> Error {
    let message = format!("{} ({note})", e.message());
    let out = match e.aws_code() {
        Some(code) => Error::sts(code, message),
        None => Error::new(e.kind(), message),
    };
    out.with_retryable(e.is_retryable())
}

/// The cache entry for one effective configuration.
pub(crate) struct Entry {
    /// Unique for the life of the process (the per-thread replicas' key).
    id: u64,
    /// Set when a caller used the entry since the last registry sweep.
    used: AtomicBool,
    /// `(fork generation, abort handle)` of the refresh loop, aborted when
    /// the entry is dropped (evicted).
    refresh_task: ArcSwapOption<(u64, tokio::task::AbortHandle)>,
    config: Config,
    token: ArcSwapOption<Token>,
    flight: ArcSwapOption<Flight>,
    /// `(fork generation, minter)`: the minter shared by every entry with
    /// the same shared part of the configuration (`sts::shared_part`),
    /// looked up again in a child after `fork()`, whose connection pool and
    /// credentials cache belong to the parent.
    minter: ArcSwap<(u64, Arc<Minter>)>,
    /// fork generation + 1 of the running refresh loop, 0 when none runs.
    refresher: AtomicU64,
    /// Set when a caller took the token since the last background refresh.
    accessed: AtomicBool,
    /// Tokens minted for this entry (for tests and monitoring).
    mints: AtomicU64,
    /// Failed mints (each one a whole mint, its internal retries included).
    failures: AtomicU64,
    /// The kind of the last failed mint, kept after later successes.
    last_error_kind: ArcSwapOption<ErrorKind>,
    /// The negative cache: the last failed mint and when the next may
    /// start, until a mint succeeds.
    failure: ArcSwapOption<Failure>,
    /// Bumped after every store to `token`; tells threads their replica is stale.
    version: AtomicU64,
}

/// This thread's copy of one entry's current token, keyed by the entry's
/// unique id (never its address: an evicted entry's memory may be reused by
/// a new one, whose id differs).
struct Replica {
    entry: u64,
    /// The entry's `version` this replica was made at.
    version: u64,
    /// This thread's use counter at the last hit (least recently used goes).
    used: u64,
    replica: Option<Arc<Token>>,
}

/// Replicas one thread keeps at most; the least recently used one makes
/// room. Each is a copy of a JWT (about 1 KiB); they are freed (and zeroed)
/// with the thread.
pub(crate) const MAX_REPLICAS_PER_THREAD: usize = 8;

struct Replicas {
    slots: Vec<Replica>,
    clock: u64,
}

thread_local! {
    static REPLICAS: std::cell::RefCell<Replicas> =
        const { std::cell::RefCell::new(Replicas { slots: Vec::new(), clock: 0 }) };
}

static NEXT_ENTRY_ID: AtomicU64 = AtomicU64::new(1);

/// One registry slot: the entry and when a caller was last seen using it
/// (updated by the sweep from the entry's `used` flag).
struct Slot {
    entry: Arc<Entry>,
    last_seen: Instant,
}

struct Registry {
    entries: HashMap<Config, Slot>,
    /// One minter per shared part of the entries' configurations
    /// ([`crate::sts::shared_part`]), with the fork generation it was built
    /// in. Weak: the entries hold the minters, so evicting the last entry
    /// of a shared part frees its SDK client and credentials. Dead slots
    /// are pruned when the map has doubled since the last pruning.
    minters: HashMap<Config, (u64, Weak<Minter>)>,
    /// Size of `minters` that triggers the next pruning.
    prune_minters_at: usize,
    last_sweep: Instant,
}

impl Registry {
    /// The minter of this process for `config`'s shared part: the live one
    /// built in this fork generation, else a new one.
    fn minter_for(&mut self, config: &Config) -> Arc<Minter> {
        let generation = fork_generation();
        let key = crate::sts::shared_part(config);
        if let Some((g, weak)) = self.minters.get(&key) {
            if *g == generation {
                if let Some(m) = weak.upgrade() {
                    return m;
                }
            }
        }
        let minter = Arc::new(Minter::new(config));
        self.minters
            .insert(key, (generation, Arc::downgrade(&minter)));
        if self.minters.len() >= self.prune_minters_at {
            self.minters.retain(|_, (_, m)| m.strong_count() > 0);
            self.prune_minters_at = (self.minters.len() * 2).max(64);
        }
        minter
    }
}

/// Idle time before eviction set by `testing::set_idle_eviction`, in
/// milliseconds; 0: [`policy::IDLE_EVICTION`].
static IDLE_OVERRIDE_MS: AtomicU64 = AtomicU64::new(0);

/// How long an entry stays idle before it is evicted.
fn idle_eviction() -> Duration {
    match IDLE_OVERRIDE_MS.load(Ordering::Relaxed) {
        0 => policy::IDLE_EVICTION,
        ms => Duration::from_millis(ms),
    }
}

/// How often a lookup sweeps at most.
fn sweep_interval() -> Duration {
    policy::SWEEP_INTERVAL.min(idle_eviction() / 2)
}

/// Every cache entry of this process. `None` until the first entry; a plain
/// static (no lazy initialiser) so the fork hooks can lock it at any time.
///
/// A `std` mutex, not `parking_lot`'s: the fork hooks hold it across
/// `fork()` and release it in the child, where the parent's waiting threads
/// do not exist. `parking_lot`'s unlock may hand the lock straight to one of
/// those waiters (eventual fairness), leaving it locked in the child for
/// ever; `std`'s futex unlock only clears the state and wakes (nobody).
static REGISTRY: std::sync::Mutex<Option<Registry>> = std::sync::Mutex::new(None);

type RegistryGuard = std::sync::MutexGuard<'static, Option<Registry>>;

fn registry() -> RegistryGuard {
    // Nothing under this lock panics; if something did, the map is still
    // consistent (entries are inserted and removed whole).
    REGISTRY.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    /// The registry guard the forking thread holds across `fork()`.
    static HELD_ACROSS_FORK: std::cell::RefCell<Option<RegistryGuard>> =
        const { std::cell::RefCell::new(None) };
}

/// Evicts entries idle for [`policy::IDLE_EVICTION`] that nothing else
/// holds (no provider, no mint in flight, no refresh loop running): their
/// memory, token and SDK client are freed. Returns how many went.
fn sweep(registry: &mut Registry, now: Instant) -> usize {
    registry.last_sweep = now;
    // With the test hook's shorter idle time, judge as if the difference
    // had passed already: idle for `idle` is then idle for IDLE_EVICTION.
    let judged_at = now + policy::IDLE_EVICTION.saturating_sub(idle_eviction());
    let before = registry.entries.len();
    registry.entries.retain(|_, slot| {
        if slot.entry.used.swap(false, Ordering::Relaxed) {
            slot.last_seen = now;
        }
        let held_elsewhere = Arc::strong_count(&slot.entry) > 1;
        !policy::evictable(slot.last_seen, judged_at, held_elsewhere)
    });
    let evicted = before - registry.entries.len();
    if evicted > 0 && registry.entries.len() * 4 < registry.entries.capacity() {
        // Give back the table's memory after a mass eviction.
        registry.entries.shrink_to(registry.entries.len() * 2);
        registry.minters.retain(|_, (_, m)| m.strong_count() > 0);
        registry.minters.shrink_to(registry.minters.len() * 2);
        registry.prune_minters_at = (registry.minters.len() * 2).max(64);
    }
    evicted
}

/// `fork generation + 1` while a delayed sweep is pending, else 0.
static SWEEP_PENDING: AtomicU64 = AtomicU64::new(0);

/// Sweeps the registry on the library's runtime every half
/// [`policy::IDLE_EVICTION`] while it holds entries nothing else holds (one
/// such task at a time per process), so idle entries go even if no provider
/// is ever created again.
fn schedule_sweep() {
    let mine = fork_generation() + 1;
    let seen = SWEEP_PENDING.load(Ordering::Relaxed);
    if seen == mine
        || SWEEP_PENDING
            .compare_exchange(seen, mine, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
    {
        return;
    }
    let Ok(handle) = runtime::handle() else {
        SWEEP_PENDING.store(0, Ordering::Relaxed);
        return;
    };
    handle.spawn(async move {
        // Until no entry is left that only the registry holds: the first
        // sweep after a use only notes it, a later one evicts.
        loop {
            tokio::time::sleep(idle_eviction() / 2).await;
            let mut guard = registry();
            let Some(r) = guard.as_mut() else { break };
            let evicted = sweep(r, Instant::now());
            if evicted > 0 {
                tracing::debug!(target: "kafka_iam_oauth", "evicted {evicted} idle token cache entries");
            }
            if !r.entries.values().any(|slot| Arc::strong_count(&slot.entry) == 1) {
                break;
            }
        }
        let _ = SWEEP_PENDING.compare_exchange(mine, 0, Ordering::AcqRel, Ordering::Relaxed);
    });
}

/// Called by the fork hooks in `runtime.rs` just before `fork()`: hold the
/// registry lock across the fork so the child never inherits it locked by
/// a thread that no longer exists.
pub(crate) fn before_fork() {
    let guard = registry();
    HELD_ACROSS_FORK.with(|held| *held.borrow_mut() = Some(guard));
}

/// Called by the fork hooks in `runtime.rs` after `fork()`, in the parent
/// and in the child.
///
/// # Safety
/// Only after [`before_fork`] in the same thread (the fork hooks' contract).
pub(crate) unsafe fn after_fork() {
    HELD_ACROSS_FORK.with(|held| drop(held.borrow_mut().take()));
}

/// The shared entry for `config`, created on first use. No network.
/// Every [`policy::SWEEP_INTERVAL`] it also evicts idle entries.
pub(crate) fn entry_for(config: Config) -> Arc<Entry> {
    runtime::install_fork_hooks();
    let now = Instant::now();
    let mut guard = registry();
    let registry = guard.get_or_insert_with(|| Registry {
        entries: HashMap::new(),
        minters: HashMap::new(),
        prune_minters_at: 64,
        last_sweep: now,
    });
    if now.saturating_duration_since(registry.last_sweep) >= sweep_interval() {
        sweep(registry, now);
    }
    if let Some(slot) = registry.entries.get(&config) {
        slot.entry.used.store(true, Ordering::Relaxed);
        return Arc::clone(&slot.entry);
    }
    let minter = registry.minter_for(&config);
    ENTRIES_ALIVE.fetch_add(1, Ordering::Relaxed);
    let slot = registry
        .entries
        .entry(config)
        .or_insert_with_key(|config| Slot {
            last_seen: now,
            entry: Arc::new(Entry {
                id: NEXT_ENTRY_ID.fetch_add(1, Ordering::Relaxed),
                used: AtomicBool::new(true),
                refresh_task: ArcSwapOption::empty(),
                config: config.clone(),
                token: ArcSwapOption::empty(),
                flight: ArcSwapOption::empty(),
                minter: ArcSwap::from_pointee((fork_generation(), minter)),
                refresher: AtomicU64::new(0),
                accessed: AtomicBool::new(false),
                mints: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                last_error_kind: ArcSwapOption::empty(),
                failure: ArcSwapOption::empty(),
                version: AtomicU64::new(0),
            }),
        });
    slot.entry.used.store(true, Ordering::Relaxed);
    Arc::clone(&slot.entry)
}

impl Entry {
    pub(crate) fn config(&self) -> &Config {
        &self.config
    }

    /// Tokens STS has minted for this entry so far (failed attempts excluded).
    pub(crate) fn mint_count(&self) -> u64 {
        self.mints.load(Ordering::Relaxed)
    }

    /// Counters and schedule of this entry, at `now`.
    pub(crate) fn stats(&self) -> crate::provider::Stats {
        let now = Instant::now();
        let token = self.token.load_full();
        crate::provider::Stats {
            mints: self.mints.load(Ordering::Relaxed),
            failures: self.failures.load(Ordering::Relaxed),
            last_error_kind: self.last_error_kind.load().as_deref().copied(),
            expires_in: token.as_ref().map(|t| policy::remaining(t.expires(), now)),
            refresh_in: token
                .as_ref()
                .map(|t| policy::remaining(t.refresh_instant(), now)),
            next_attempt_in: self.failure.load().as_ref().and_then(|f| {
                let wait = f.retry_at.saturating_duration_since(Instant::now());
                (!wait.is_zero()).then_some(wait)
            }),
        }
    }

    /// The cached token if it may still be served at all
    /// ([`policy::still_valid`]), fresh enough or not: what a caller whose
    /// wait ran out gets rather than an error.
    pub(crate) fn still_valid_token(&self) -> Option<Arc<Token>> {
        self.token
            .load_full()
            .filter(|t| policy::still_valid(t.expires(), Instant::now()))
    }

    /// The hot path: the cached token if it has a useful lifetime left.
    ///
    /// Returns this thread's replica of the current token, checked against
    /// the entry's version counter: threads share only reads of rarely
    /// written atomics, never a reference count's cache line.
    #[inline]
    pub(crate) fn cached(self: &Arc<Self>) -> Option<Arc<Token>> {
        let version = self.version.load(Ordering::Acquire);
        let key = self.id;
        let token = REPLICAS.with(|r| {
            let mut replicas = r.borrow_mut();
            let Replicas { slots, clock } = &mut *replicas;
            *clock += 1;
            let i = match slots.iter().position(|r| r.entry == key) {
                Some(i) => i,
                None => {
                    let fresh = Replica {
                        entry: key,
                        version: u64::MAX,
                        used: 0,
                        replica: None,
                    };
                    if slots.len() < MAX_REPLICAS_PER_THREAD {
                        slots.push(fresh);
                        slots.len() - 1
                    } else {
                        let lru = (0..slots.len()).min_by_key(|&i| slots[i].used).unwrap_or(0);
                        slots[lru] = fresh;
                        lru
                    }
                }
            };
            let slot = &mut slots[i];
            slot.used = *clock;
            if slot.version != version {
                slot.replica = self.token.load_full().map(|t| Arc::new(t.replica()));
                slot.version = version;
            }
            slot.replica.clone()
        })?;
        if !policy::hand_out_at_once(token.expires(), token.refresh_instant(), Instant::now()) {
            return None;
        }
        self.note_access();
        Some(token)
    }

    #[inline]
    fn note_access(self: &Arc<Self>) {
        // Read before write: the common case writes nothing, so the cache
        // line stays shared between threads.
        if !self.accessed.load(Ordering::Relaxed) {
            self.accessed.store(true, Ordering::Relaxed);
        }
        if !self.used.load(Ordering::Relaxed) {
            self.used.store(true, Ordering::Relaxed);
        }
        if self.refresher.load(Ordering::Relaxed) != fork_generation() + 1 {
            self.ensure_refresher();
        }
    }

    /// Waits for a token: the cached one, else the shared mint in flight
    /// (starting one if none). If minting fails but the cached token is
    /// still valid, that token is served.
    ///
    /// After a failed mint, until [`policy::failure_backoff`] has passed,
    /// callers get that error at once (naming when the next attempt is)
    /// instead of another STS call; a still valid token is served first.
    pub(crate) async fn get(self: Arc<Self>) -> Result<Arc<Token>> {
        if let Some(t) = self.cached() {
            return Ok(t);
        }
        if let Some(f) = self.failure.load_full() {
            let wait = f.retry_at.saturating_duration_since(Instant::now());
            if !wait.is_zero() {
                if let Some(t) = self.token.load_full() {
                    if policy::still_valid(t.expires(), Instant::now()) {
                        self.note_access();
                        return Ok(t);
                    }
                }
                return Err(with_note(
                    &f.error,
                    format_args!(
                        "failed {} time(s) in a row; the next attempt is in {:.1} s",
                        f.in_a_row + 1,
                        wait.as_secs_f64()
                    ),
                ));
            }
        }
        // A still valid token that is not fresh enough (policy::
        // hand_out_at_once): wait a little for the fresh one, else serve it.
        let result = match self.still_valid_token() {
            Some(old) => {
                let wait = policy::stale_wait(old.expires(), Instant::now());
                match tokio::time::timeout(wait, self.flight()?).await {
                    Ok(r) => r,
                    Err(_) => {
                        self.note_access();
                        return Ok(old);
                    }
                }
            }
            None => self.flight()?.await,
        };
        match result {
            Ok(t) => {
                self.note_access();
                Ok(t)
            }
            Err(e) => match self.token.load_full() {
                Some(t) if policy::still_valid(t.expires(), Instant::now()) => {
                    self.note_access();
                    Ok(t)
                }
                _ => Err(e),
            },
        }
    }

    /// The mint in flight for this process, or a new one.
    fn flight(self: &Arc<Self>) -> Result<MintFuture> {
        let generation = fork_generation();
        loop {
            let current = self.flight.load_full();
            if let Some(f) = &current {
                if f.generation == generation {
                    return Ok(f.future.clone());
                }
            }
            let handle = runtime::handle()?;
            let me = Arc::clone(self);
            let me_too = Arc::clone(self);
            let id = NEXT_FLIGHT.fetch_add(1, Ordering::Relaxed);
            // Lazy: the mint is spawned on first poll, so a flight that
            // loses the race below never calls STS.
            let future = async move {
                let task = handle.spawn(async move {
                    let _clear = ClearFlight { entry: &me, id };
                    me.mint_and_store().await
                });
                task.await.unwrap_or_else(|e| {
                    let e = join_error(e);
                    me_too.note_failure(&e);
                    Err(e)
                })
            }
            .boxed()
            .shared();
            let new = Arc::new(Flight {
                id,
                generation,
                future: future.clone(),
            });
            let prev = self.flight.compare_and_swap(&current, Some(new));
            let won = match (&*prev, &current) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            if won {
                return Ok(future);
            }
        }
    }

    /// One mint: STS, then the store. The caller's [`ClearFlight`] ends the
    /// flight afterwards, however this ends.
    async fn mint_and_store(self: &Arc<Self>) -> Result<Arc<Token>> {
        let minter = self.minter();
        testing::maybe_panic(&self.config.audience);
        let result = minter.mint(&self.config).await.map(Arc::new);
        if let Ok(t) = &result {
            self.failure.store(None);
            self.token.store(Some(Arc::clone(t)));
            self.mints.fetch_add(1, Ordering::Relaxed);
            self.version.fetch_add(1, Ordering::Release);
        }
        let result = result.map_err(|e| {
            self.note_failure(&e);
            let wait = self.remember_failure(&e);
            tracing::warn!(target: "kafka_iam_oauth", audience = %self.config.audience, "token mint failed: {e}");
            match wait {
                Some(wait) => with_note(
                    &e,
                    format_args!(
                        "the next attempt is in {:.1} s; callers get this error until then",
                        wait.as_secs_f64()
                    ),
                ),
                None => e,
            }
        });
        if result.is_ok() {
            self.ensure_refresher();
        }
        result
    }

    /// Remembers a failed mint for the negative cache; returns how long.
    /// Internal errors (a bug, a panic) are not remembered: the next call
    /// tries again at once.
    fn remember_failure(&self, e: &Error) -> Option<std::time::Duration> {
        if e.kind() == ErrorKind::Internal {
            return None;
        }
        let in_a_row = self
            .failure
            .load()
            .as_ref()
            .map_or(0, |f| f.in_a_row.saturating_add(1));
        let wait = policy::failure_backoff(in_a_row, e.is_retryable(), rand::random::<f64>());
        self.failure.store(Some(Arc::new(Failure {
            error: e.clone(),
            retry_at: Instant::now() + wait,
            in_a_row,
        })));
        Some(wait)
    }

    fn note_failure(&self, e: &Error) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.last_error_kind.store(Some(Arc::new(e.kind())));
    }

    fn minter(&self) -> Arc<Minter> {
        let generation = fork_generation();
        let current = self.minter.load();
        if current.0 == generation {
            return Arc::clone(&current.1);
        }
        // After fork: this process's minter for the shared part, built
        // once for every entry that shares it. The registry lock (held
        // across fork() by the fork hooks) also guards the minters.
        let fresh = {
            let mut guard = registry();
            match guard.as_mut() {
                Some(r) => r.minter_for(&self.config),
                None => Arc::new(Minter::new(&self.config)),
            }
        };
        self.minter
            .store(Arc::new((generation, Arc::clone(&fresh))));
        fresh
    }

    /// Starts the background refresh loop unless one runs in this process.
    fn ensure_refresher(self: &Arc<Self>) {
        let mine = fork_generation() + 1;
        let seen = self.refresher.load(Ordering::Relaxed);
        if seen == mine {
            return;
        }
        if self
            .refresher
            .compare_exchange(seen, mine, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        match runtime::handle() {
            Ok(h) => {
                let task = h.spawn(Self::refresh_loop(Arc::downgrade(self), mine));
                self.refresh_task
                    .store(Some(Arc::new((fork_generation(), task.abort_handle()))));
            }
            Err(_) => self.refresher.store(0, Ordering::Relaxed),
        }
    }

    /// Refreshes ahead of expiry while clients keep taking the token; stops
    /// after a whole refresh period in which nobody asked (the next caller
    /// restarts it, and still gets the cached token at once).
    ///
    /// Holds only a weak reference while it sleeps, so an evicted entry is
    /// freed (its `Drop` aborts this task).
    async fn refresh_loop(entry: std::sync::Weak<Self>, mine: u64) {
        loop {
            let Some(token) = entry.upgrade().and_then(|e| e.token.load_full()) else {
                return;
            };
            let delay = policy::remaining(token.refresh_instant(), Instant::now());
            tokio::time::sleep(delay).await;
            let Some(me) = entry.upgrade() else {
                return;
            };
            if !me.accessed.swap(false, Ordering::Relaxed) || !me.refresh_with_retries(&token).await
            {
                break;
            }
        }
        let Some(me) = entry.upgrade() else {
            return;
        };
        let _ = me
            .refresher
            .compare_exchange(mine, 0, Ordering::AcqRel, Ordering::Relaxed);
        drop(me);
        // Nobody used the entry for a refresh period: make sure a sweep
        // comes by once it could be idle long enough to evict, even if no
        // provider is ever created again.
        schedule_sweep();
    }

    /// Tries to replace `old` until it succeeds or `old` has expired; the
    /// old token keeps being served meanwhile. Returns whether it succeeded.
    async fn refresh_with_retries(self: &Arc<Self>, old: &Arc<Token>) -> bool {
        let mut attempt: u32 = 0;
        loop {
            let result = match self.flight() {
                Ok(f) => f.await,
                Err(e) => Err(e),
            };
            match result {
                Ok(_) => return true,
                Err(e) => {
                    let now = Instant::now();
                    if !policy::still_valid(old.expires(), now) {
                        tracing::error!(target: "kafka_iam_oauth", "token refresh failed and the cached token expired: {e}");
                        return false;
                    }
                    let wait = policy::refresh_retry_delay(
                        attempt,
                        old.expires(),
                        now,
                        rand::random::<f64>(),
                    );
                    tracing::warn!(
                        target: "kafka_iam_oauth",
                        "token refresh failed, still serving the cached token ({} s left), retrying in {} ms: {e}",
                        policy::remaining(old.expires(), now).as_secs(),
                        wait.as_millis()
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
            }
        }
    }
}

//! The library's own tokio runtime, started lazily on first use, and the
//! fork generation that tells state from before a `fork()` apart.
//!
//! After `fork()` only the forking thread exists in the child: the parent's
//! runtime threads are gone, so anything waiting on them would hang forever.
//! A `pthread_atfork` child handler bumps [`fork_generation`]; the runtime
//! and every cache entry compare their generation with it and rebuild
//! themselves (the old runtime is leaked, never dropped, because dropping it
//! would wait for threads that do not exist).

use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Once};
use tokio::runtime::{Handle, Runtime};

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();
/// A std mutex, not parking_lot's: the lock is held across fork() by a
/// guard in the forking thread and released by dropping that guard.
/// parking_lot's unlock may hand the lock straight to a waiting parent
/// thread, which does not exist in the child (cache.rs has the same rule).
static RUNTIME: Mutex<Option<(u64, Arc<Runtime>)>> = Mutex::new(None);

type RuntimeSlot = MutexGuard<'static, Option<(u64, Arc<Runtime>)>>;

thread_local! {
    /// The runtime slot's guard while this thread forks.
    static HELD_ACROSS_FORK: RefCell<Option<RuntimeSlot>> = const { RefCell::new(None) };
}

fn slot() -> RuntimeSlot {
    // Nothing under this lock panics; the slot is replaced whole.
    RUNTIME.lock().unwrap_or_else(|e| e.into_inner())
}

// The process's only fork hooks: the runtime slot's lock and the cache
// registry's lock are held across fork() so the child never inherits one
// locked by a thread that no longer exists. Nothing takes the runtime slot
// while holding the registry or the other way round, so the order is free;
// release is the reverse of acquisition.
extern "C" fn before_fork() {
    crate::cache::before_fork();
    let guard = slot();
    HELD_ACROSS_FORK.with(|held| *held.borrow_mut() = Some(guard));
}

/// Releases what `before_fork` holds, in reverse order.
fn release_after_fork() {
    HELD_ACROSS_FORK.with(|held| drop(held.borrow_mut().take()));
    // SAFETY: `before_fork` ran in this thread (the fork hooks' contract).
    unsafe { crate::cache::after_fork() };
}

extern "C" fn after_fork_in_parent() {
    release_after_fork();
}

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
    release_after_fork();
}

/// Registers the fork hooks, once per process (cheap after the first call).
/// Called before anything they guard is first used: the runtime here, the
/// cache registry in `cache::entry_for`.
pub(crate) fn install_fork_hooks() {
    ATFORK.call_once(|| {
        // rand's thread_rng registers its own fork handler under a
        // process-wide Once the first time any thread uses it. If that first
        // use happened on our runtime thread while the application forked,
        // the child would wait on that Once forever (seen: a child hung in
        // Once::call minting its first token). Doing it here, in the caller's
        // thread before any mint, means it is always finished by then.
        let _ = rand::thread_rng();
        // SAFETY: registering plain extern "C" functions with no captured state.
        unsafe {
            libc::pthread_atfork(
                Some(before_fork),
                Some(after_fork_in_parent),
                Some(after_fork_in_child),
            );
        }
    });
}

/// The current fork generation (0 in the original process).
#[inline]
pub fn fork_generation() -> u64 {
    FORK_GENERATION.load(Ordering::Relaxed)
}

/// A handle to the library's runtime for this process, starting it if needed.
pub fn handle() -> crate::error::Result<Handle> {
    install_fork_hooks();
    let generation = fork_generation();
    let mut slot = slot();
    if let Some((g, rt)) = slot.as_ref() {
        if *g == generation {
            return Ok(rt.handle().clone());
        }
    }
    if let Some((_, stale)) = slot.take() {
        // The parent's runtime: its threads did not survive the fork.
        std::mem::forget(stale);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("kafka-iam-oauth")
        .enable_all()
        .build()
        .map_err(|e| {
            crate::error::Error::new(
                crate::error::ErrorKind::Internal,
                format!("kafka-iam-oauth cannot start its runtime thread: {e}"),
            )
        })?;
    let rt = Arc::new(rt);
    let h = rt.handle().clone();
    *slot = Some((generation, rt));
    Ok(h)
}

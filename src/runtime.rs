//! The library's own tokio runtime, started lazily on first use, and the
//! fork generation that tells state from before a `fork()` apart.
//!
//! After `fork()` only the forking thread exists in the child: the parent's
//! runtime threads are gone, so anything waiting on them would hang forever.
//! A `pthread_atfork` child handler bumps [`fork_generation`]; the runtime
//! and every cache entry compare their generation with it and rebuild
//! themselves (the old runtime is leaked, never dropped, because dropping it
//! would wait for threads that do not exist).

use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Once};
use tokio::runtime::{Handle, Runtime};

static FORK_GENERATION: AtomicU64 = AtomicU64::new(0);
static ATFORK: Once = Once::new();
static RUNTIME: Mutex<Option<(u64, Arc<Runtime>)>> = Mutex::new(None);

// The process's only fork hooks: the runtime slot's lock and the cache
// registry's lock are held across fork() so the child never inherits one
// locked by a thread that no longer exists. Nothing takes the runtime slot
// while holding the registry or the other way round, so the order is free;
// release is the reverse of acquisition.
extern "C" fn before_fork() {
    crate::cache::before_fork();
    std::mem::forget(RUNTIME.lock());
}

extern "C" fn after_fork_in_parent() {
    // SAFETY: both locked by `before_fork` in this thread.
    unsafe {
        RUNTIME.force_unlock();
        crate::cache::after_fork();
    }
}

extern "C" fn after_fork_in_child() {
    FORK_GENERATION.fetch_add(1, Ordering::SeqCst);
    // SAFETY: both locked by `before_fork` in this (now the only) thread.
    unsafe {
        RUNTIME.force_unlock();
        crate::cache::after_fork();
    }
}

/// Registers the fork hooks, once per process (cheap after the first call).
/// Called before anything they guard is first used: the runtime here, the
/// cache registry in `cache::entry_for`.
pub(crate) fn install_fork_hooks() {
    ATFORK.call_once(|| {
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
    let mut slot = RUNTIME.lock();
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

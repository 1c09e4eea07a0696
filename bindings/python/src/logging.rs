//! The core's log events, delivered to Python's `logging` without ever
//! taking the GIL on a thread Python did not call us on.
//!
//! The core logs with `tracing`; this crate enables tracing's `log` feature,
//! so with no tracing subscriber installed (none is, in a Python process)
//! each event also becomes a `log` record. Only this package's target is
//! forwarded, at INFO and above (the AWS SDK's own events would flood it).
//! No message the core logs contains a token or a secret.
//!
//! Where a record goes depends on the thread that logs it:
//! - a thread inside one of this module's Python entry points, holding the
//!   GIL (marked by [`Attached`]): straight to `pyo3-log`, as before;
//! - any other thread (the core's tokio worker, where mints and refreshes
//!   fail): into a bounded queue ([`QUEUE_CAPACITY`]; when it is full the
//!   record is dropped and counted), never touching Python. The queue is
//!   drained by the next Python thread that calls into the extension
//!   (`oauth_cb`, `Provider.token`/`stats`/`cached_token`, `Provider()`),
//!   after its own wait, so a failed mint's record reaches the caller's
//!   handlers before the exception does.
//!
//! Why the calling thread and not a daemon drain thread: a handler that asks
//! for a token (or takes a lock the token path holds) then runs on a Python
//! thread that is not inside the mint, so the runtime's worker can always
//! finish the mint; there is no thread of ours blocked in Rust code waiting
//! for the GIL at interpreter shutdown (a daemon thread re-taking the GIL
//! during finalization is exited by CPython < 3.14 with `pthread_exit`,
//! which aborts through Rust frames, and hangs on 3.14); and nothing is
//! started lazily that `fork()` would have to rebuild. The cost: a record
//! from a background refresh that fails while no thread calls in waits for
//! the next call (librdkafka calls `oauth_cb` on every refresh, and a
//! failed refresh is followed by callers meeting the same error), and
//! records still queued at exit are lost.
//!
//! Re-entrancy: records are taken out of the queue before any handler runs
//! (no lock is held while Python code runs), and while a thread is emitting
//! queued records or reporting a failure, records it produces itself (a
//! handler calling `oauth_cb`, which fails and logs) are queued instead of
//! emitted, so a handler that logs through us cannot recurse without bound.

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use std::cell::{Cell, RefCell};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

use crate::LOGGER;

/// At most this many records wait for a Python thread; more are dropped
/// (and counted, and the count logged on the next drain). Failures are
/// rate-limited by the core's negative cache and refresh backoff, so a
/// full queue means no Python thread called in for a long time.
pub(crate) const QUEUE_CAPACITY: usize = 256;

struct Queued {
    level: Level,
    target: String,
    message: String,
}

static QUEUE: Mutex<VecDeque<Queued>> = Mutex::new(VecDeque::new());
/// Records in `QUEUE`, read without the lock on the warm path.
static QUEUED: AtomicUsize = AtomicUsize::new(0);
/// Records dropped because the queue was full, since the process started.
static DROPPED: AtomicU64 = AtomicU64::new(0);
/// `DROPPED` as last reported in a log record.
static DROPPED_REPORTED: AtomicU64 = AtomicU64::new(0);

thread_local! {
    /// This thread holds the GIL inside one of our entry points.
    static ATTACHED: Cell<bool> = const { Cell::new(false) };
    /// This thread is running Python logging code on our behalf.
    static EMITTING: Cell<bool> = const { Cell::new(false) };
}

/// Marks the current thread as holding the GIL in one of our entry points
/// until dropped; [`detached`] clears the mark while the GIL is released.
pub(crate) struct Attached(bool);

impl Attached {
    pub(crate) fn enter(_py: Python<'_>) -> Attached {
        Attached(ATTACHED.with(|a| a.replace(true)))
    }
}

impl Drop for Attached {
    fn drop(&mut self) {
        ATTACHED.with(|a| a.set(self.0));
    }
}

/// `py.detach(f)`, with the thread not marked as holding the GIL meanwhile.
pub(crate) fn detached<T: Send, F: Send + FnOnce() -> T>(py: Python<'_>, f: F) -> T {
    py.detach(move || {
        let was = ATTACHED.with(|a| a.replace(false));
        let out = f();
        ATTACHED.with(|a| a.set(was));
        out
    })
}

fn enqueue(level: Level, target: &str, message: String) {
    let mut q = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    if q.len() >= QUEUE_CAPACITY {
        DROPPED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    q.push_back(Queued {
        level,
        target: target.to_owned(),
        message,
    });
    QUEUED.store(q.len(), Ordering::Release);
}

/// Records dropped because the queue was full (for tests and `stats`).
pub(crate) fn dropped() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Emits the queued records on this (Python) thread. Cheap when the queue
/// is empty: one atomic load. Does nothing while this thread is already
/// emitting (a handler that calls back into us).
pub(crate) fn drain(py: Python<'_>) {
    if QUEUED.load(Ordering::Acquire) == 0
        && DROPPED.load(Ordering::Relaxed) == DROPPED_REPORTED.load(Ordering::Relaxed)
    {
        return;
    }
    if EMITTING.with(|e| e.get()) {
        return;
    }
    let records: Vec<Queued> = {
        let mut q = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
        QUEUED.store(0, Ordering::Release);
        q.drain(..).collect()
    };
    let dropped = DROPPED.load(Ordering::Relaxed);
    let reported = DROPPED_REPORTED.swap(dropped, Ordering::Relaxed);
    let Ok(bridge) = bridge(py) else { return };
    let _emitting = Emitting::enter();
    for r in &records {
        bridge.log(
            &Record::builder()
                .level(r.level)
                .target(&r.target)
                .args(format_args!("{}", r.message))
                .build(),
        );
    }
    if dropped > reported {
        bridge.log(
            &Record::builder()
                .level(Level::Warn)
                .target(LOGGER)
                .args(format_args!(
                    "kafka_iam_oauth: {} log records dropped: no Python thread called in while the queue of {QUEUE_CAPACITY} was full",
                    dropped - reported
                ))
                .build(),
        );
    }
}

struct Emitting(bool);

impl Emitting {
    fn enter() -> Emitting {
        Emitting(EMITTING.with(|e| e.replace(true)))
    }
}

impl Drop for Emitting {
    fn drop(&mut self) {
        EMITTING.with(|e| e.set(self.0));
    }
}

/// The pyo3-log bridge, made on the first record rather than at import:
/// making it imports Python's `logging` (and with it `re`, `traceback`,
/// `enum`), which was most of what `import kafka_iam_oauth` cost
/// (`python -X importtime`), and a process that never logs from here need
/// not pay that. `PyOnceLock` because the import can release the GIL.
static BRIDGE: PyOnceLock<pyo3_log::Logger> = PyOnceLock::new();

fn bridge(py: Python<'_>) -> PyResult<&pyo3_log::Logger> {
    BRIDGE.get_or_try_init(py, || {
        // What a library does for its logger: a NullHandler, so nothing is
        // printed (by logging's last-resort handler) when the application
        // configures no logging. Added before the first record is handled.
        // (`report_failure` prints failures of `oauth_cb` itself then.)
        let logging = py.import("logging")?;
        let null = logging.getattr("NullHandler")?.call0()?;
        logging
            .getattr("getLogger")?
            .call1((LOGGER,))?
            .call_method1("addHandler", (null,))?;
        // `Loggers`, not `LoggersAndLevels`: levels set after the first
        // record (`logging.basicConfig(level=...)`, pytest's caplog) must
        // still count, and records are rare (failed mints).
        Ok(pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?
            .filter(LevelFilter::Off)
            .filter_target(LOGGER.to_owned(), LevelFilter::Info))
    })
}

/// The package's Python logger (`logging.getLogger("kafka_iam_oauth")`),
/// set up as the bridge sets it up; for the Python code that logs too.
pub(crate) fn python_logger(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    bridge(py)?;
    py.import("logging")?.getattr("getLogger")?.call1((LOGGER,))
}

/// Whether a handler other than a `NullHandler` would see a record of our
/// logger (ours, or an ancestor's while `propagate` holds): Python's own
/// test for its last-resort handler, without counting our `NullHandler`.
fn has_handler(py: Python<'_>, logger: &Bound<'_, PyAny>) -> PyResult<bool> {
    let null = py.import("logging")?.getattr("NullHandler")?;
    let mut c = logger.clone();
    loop {
        for h in c.getattr("handlers")?.try_iter()? {
            if !h?.is_instance(&null)? {
                return Ok(true);
            }
        }
        if !c.getattr("propagate")?.is_truthy()? {
            return Ok(false);
        }
        let parent = c.getattr("parent")?;
        if parent.is_none() {
            return Ok(false);
        }
        c = parent;
    }
}

/// Distinct failures already written to stderr; bounded so a changing
/// message cannot grow it.
static PRINTED: Mutex<Option<HashSet<String>>> = Mutex::new(None);
const MAX_PRINTED: usize = 64;

/// What makes two failures the same: the message without the negative
/// cache's note (how often, when next: "failed 3 time(s) in a row; the next
/// attempt is in 4.2 s") and without digits.
fn failure_key(message: &str) -> String {
    let cut = [" (failed ", " (the next attempt is in"]
        .iter()
        .filter_map(|m| message.find(m))
        .min()
        .unwrap_or(message.len());
    message[..cut]
        .chars()
        .filter(|c| !c.is_ascii_digit())
        .collect()
}

/// Writes `message` to `sys.stderr` once per distinct failure
/// ([`failure_key`]).
fn last_resort(py: Python<'_>, message: &str) -> PyResult<()> {
    let key = failure_key(message);
    {
        let mut printed = PRINTED.lock().unwrap_or_else(|p| p.into_inner());
        let set = printed.get_or_insert_with(HashSet::new);
        if set.contains(&key) || set.len() >= MAX_PRINTED {
            return Ok(());
        }
        set.insert(key);
    }
    let stderr = py.import("sys")?.getattr("stderr")?;
    if !stderr.is_none() {
        stderr.call_method1("write", (format!("{message}\n"),))?;
        let _ = stderr.call_method0("flush");
    }
    Ok(())
}

/// Reports a failed `oauth_cb` (confluent-kafka drops the exception text,
/// and says only "OAuth token not set within 10 seconds"): an ERROR record
/// on the `kafka_iam_oauth` logger and, when the application configured no
/// handler that would show it, the message on stderr once per distinct
/// failure, as Python's last-resort handler would. Called with the GIL;
/// inside a handler's `emit` (re-entered), the record is queued instead.
pub(crate) fn report_failure(py: Python<'_>, message: &str) {
    if EMITTING.with(|e| e.get()) {
        enqueue(Level::Error, LOGGER, message.to_owned());
        return;
    }
    drain(py);
    let _emitting = Emitting::enter();
    let result = (|| -> PyResult<()> {
        let logger = python_logger(py)?;
        logger.call_method1("error", ("%s", message))?;
        if !has_handler(py, &logger)? {
            last_resort(py, message)?;
        }
        Ok(())
    })();
    // Reporting must not replace the token error the caller raises.
    drop(result);
}

thread_local! {
    /// The queue's lock, held by the forking thread across `fork()`.
    static FORK_GUARD: RefCell<Option<MutexGuard<'static, VecDeque<Queued>>>> =
        const { RefCell::new(None) };
}

/// `os.register_at_fork(before=...)`: takes the queue's lock so that the
/// child cannot inherit it locked by the runtime's worker (a thread the
/// child does not have), which would block its first record forever.
#[pyfunction]
pub(crate) fn _before_fork() {
    let guard = QUEUE.lock().unwrap_or_else(|p| p.into_inner());
    FORK_GUARD.with(|g| *g.borrow_mut() = Some(guard));
}

/// `after_in_parent`: lets go of the lock.
#[pyfunction]
pub(crate) fn _after_fork_in_parent() {
    FORK_GUARD.with(|g| drop(g.borrow_mut().take()));
}

/// `after_in_child`: the parent's records are the parent's to emit.
#[pyfunction]
pub(crate) fn _after_fork_in_child() {
    FORK_GUARD.with(|g| {
        if let Some(mut q) = g.borrow_mut().take() {
            q.clear();
            QUEUED.store(0, Ordering::Release);
        }
    });
}

/// Registers the fork hooks (Python's own `os.fork()`, which
/// multiprocessing uses, runs them; the module is already loaded).
pub(crate) fn register_fork_hooks(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let kwargs = pyo3::types::PyDict::new(py);
    kwargs.set_item("before", wrap_pyfunction!(_before_fork, m)?)?;
    kwargs.set_item(
        "after_in_parent",
        wrap_pyfunction!(_after_fork_in_parent, m)?,
    )?;
    kwargs.set_item("after_in_child", wrap_pyfunction!(_after_fork_in_child, m)?)?;
    py.import("os")?
        .call_method("register_at_fork", (), Some(&kwargs))?;
    Ok(())
}

/// Installs the bridge as the `log` crate's logger. A second install (the
/// module imported again in a sub-interpreter) is not an error.
pub(crate) fn install() {
    if log::set_boxed_logger(Box::new(Bridge)).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// Filters in Rust (no GIL) before anything reaches Python; emits directly
/// only on a thread marked [`Attached`] (it holds the GIL), else queues.
struct Bridge;

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info && metadata.target().split("::").next() == Some(LOGGER)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        if ATTACHED.with(|a| a.get()) && !EMITTING.with(|e| e.get()) {
            // The GIL is held by this thread: attaching is a counter bump.
            Python::attach(|py| {
                drain(py);
                if let Ok(bridge) = bridge(py) {
                    let _emitting = Emitting::enter();
                    bridge.log(record);
                }
            });
        } else {
            enqueue(record.level(), record.target(), record.args().to_string());
        }
    }

    fn flush(&self) {}
}

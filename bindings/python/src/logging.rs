//! The core's log events, delivered to Python's `logging`.
//!
//! The core logs with `tracing`; this crate enables tracing's `log` feature,
//! so with no tracing subscriber installed (none is, in a Python process)
//! each event also becomes a `log` record, and `pyo3-log` hands those to
//! the Python logger named after the record's target (`kafka_iam_oauth`).
//! Only this package's target is forwarded, at INFO and above: the AWS SDK's
//! own events would otherwise take the GIL on every STS call. No message the
//! core logs contains a token or a secret.

use log::{Level, LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;

use crate::LOGGER;

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

/// Installs the bridge as the `log` crate's logger. A second install (the
/// module imported again in a sub-interpreter) is not an error.
pub(crate) fn install() {
    if log::set_boxed_logger(Box::new(Bridge)).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
}

/// Filters in Rust (no GIL) before anything reaches Python, and skips
/// records while the interpreter cannot be attached to: a background
/// refresh can fail and log while Python is shutting down, and attaching
/// then would hang or kill the runtime's worker thread.
struct Bridge;

impl Log for Bridge {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.level() <= Level::Info && metadata.target().split("::").next() == Some(LOGGER)
    }

    fn log(&self, record: &Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        Python::try_attach(|py| {
            if let Ok(bridge) = bridge(py) {
                bridge.log(record);
            }
        });
    }

    fn flush(&self) {}
}

//! The core's log events, delivered to Python's `logging`.
//!
//! The core logs with `tracing`; this crate enables tracing's `log` feature,
//! so with no tracing subscriber installed (none is, in a Python process)
//! each event also becomes a `log` record, and `pyo3-log` hands those to
//! the Python logger named after the record's target (`kafka_iam_oauth`).
//! Only this package's target is forwarded, at INFO and above: the AWS SDK's
//! own debug events would otherwise take the GIL on every STS call. No
//! message the core logs contains a token or a secret.

use log::{LevelFilter, Log, Metadata, Record};
use pyo3::prelude::*;

/// Installs the bridge as the `log` crate's logger. A second install (the
/// module imported again in a sub-interpreter) is not an error.
pub(crate) fn install(py: Python<'_>, target: &str) -> PyResult<()> {
    // `Loggers`, not `LoggersAndLevels`: levels set after the first record
    // (`logging.basicConfig(level=...)`, pytest's caplog) must still count,
    // and the events are rare (failed mints), so asking Python is cheap.
    let inner = pyo3_log::Logger::new(py, pyo3_log::Caching::Loggers)?
        .filter(LevelFilter::Off)
        .filter_target(target.to_owned(), LevelFilter::Info);
    if log::set_boxed_logger(Box::new(OnlyWhileAlive(inner))).is_ok() {
        log::set_max_level(LevelFilter::Info);
    }
    Ok(())
}

/// Skips records while the interpreter cannot be attached to: a
/// background refresh can fail and log while Python is shutting down, and
/// attaching then would hang or kill the runtime's worker thread.
struct OnlyWhileAlive(pyo3_log::Logger);

impl Log for OnlyWhileAlive {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        self.0.enabled(metadata)
    }

    fn log(&self, record: &Record<'_>) {
        if self.0.enabled(record.metadata()) {
            Python::try_attach(|_py| self.0.log(record));
        }
    }

    fn flush(&self) {}
}

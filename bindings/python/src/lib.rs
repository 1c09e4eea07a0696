//! PyO3 module `kafka_iam_oauth._native` over [`Provider`] (not the C ABI).
//!
//! Everything that may wait (an STS round trip) runs with the GIL released.
//! Failures of `oauth_cb` are logged through Python's `logging` (logger
//! `kafka_iam_oauth`) before the exception is raised, because
//! confluent-kafka drops the exception text. Tokens are never logged.

use kafka_iam_oauth::{Config, Error, ErrorKind, Provider, Token};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::sync::GILOnceCell;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, UNIX_EPOCH};

const LOGGER: &str = "kafka_iam_oauth";

/// The exception classes, created at module init (multiple bases, so they
/// are made with Python's `type()`).
struct Exceptions {
    base: Py<PyType>,
    config: Py<PyType>,
    credentials: Py<PyType>,
    sts: Py<PyType>,
    timeout: Py<PyType>,
}

static EXCEPTIONS: GILOnceCell<Exceptions> = GILOnceCell::new();

fn make_exceptions(py: Python<'_>) -> PyResult<Exceptions> {
    let builtins = py.import("builtins")?;
    let type_ = builtins.getattr("type")?;
    let make = |name: &str, bases: Bound<'_, PyTuple>, doc: &str| -> PyResult<Py<PyType>> {
        let ns = PyDict::new(py);
        ns.set_item("__module__", "kafka_iam_oauth")?;
        ns.set_item("__doc__", doc)?;
        let cls = type_.call1((name, bases, ns))?;
        Ok(cls.downcast_into::<PyType>()?.unbind())
    };
    let exc = py.get_type::<pyo3::exceptions::PyException>();
    let base = make(
        "Error",
        PyTuple::new(py, [exc])?,
        "Base class of every kafka_iam_oauth error. `aws_code` is the AWS error code for STS errors, else None.",
    )?;
    base.bind(py).setattr("aws_code", py.None())?;
    base.bind(py).setattr("kind", "internal")?;
    let b = base.bind(py).clone();
    let config = make(
        "ConfigError",
        PyTuple::new(py, [b.clone(), py.get_type::<PyValueError>()])?,
        "The configuration string is invalid; the message names the key.",
    )?;
    let credentials = make(
        "CredentialsError",
        PyTuple::new(py, [b.clone()])?,
        "No AWS credentials could be found or used.",
    )?;
    let sts = make(
        "StsError",
        PyTuple::new(py, [b.clone()])?,
        "AWS STS answered with an error; `aws_code` holds its error code.",
    )?;
    let timeout = make(
        "TokenTimeoutError",
        PyTuple::new(
            py,
            [b.clone(), py.get_type::<pyo3::exceptions::PyTimeoutError>()],
        )?,
        "No token could be had in time.",
    )?;
    Ok(Exceptions {
        base,
        config,
        credentials,
        sts,
        timeout,
    })
}

fn exceptions(py: Python<'_>) -> PyResult<&Exceptions> {
    EXCEPTIONS.get_or_try_init(py, || make_exceptions(py))
}

fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument => "invalid_argument",
        ErrorKind::Config => "config",
        ErrorKind::Credentials => "credentials",
        ErrorKind::Sts => "sts",
        ErrorKind::Timeout => "timeout",
        ErrorKind::Internal => "internal",
    }
}

/// Maps a core error to the matching Python exception.
fn to_py_err(py: Python<'_>, e: &Error) -> PyErr {
    let ex = match exceptions(py) {
        Ok(ex) => ex,
        Err(err) => return err,
    };
    let cls = match e.kind() {
        ErrorKind::Config | ErrorKind::InvalidArgument => &ex.config,
        ErrorKind::Credentials => &ex.credentials,
        ErrorKind::Sts => &ex.sts,
        ErrorKind::Timeout => &ex.timeout,
        ErrorKind::Internal => &ex.base,
    };
    match cls.bind(py).call1((e.message(),)) {
        Ok(obj) => {
            let _ = obj.setattr("aws_code", e.aws_code());
            let _ = obj.setattr("kind", kind_name(e.kind()));
            PyErr::from_value(obj)
        }
        Err(err) => err,
    }
}

fn log(py: Python<'_>, level: &str, msg: &str) {
    let _ = (|| -> PyResult<()> {
        let logger = py
            .import("logging")?
            .getattr("getLogger")?
            .call1((LOGGER,))?;
        logger.call_method1(level, ("%s", msg))?;
        Ok(())
    })();
}

/// Forwards the core's `tracing` events (target `kafka_iam_oauth`) to
/// Python's `logging` logger `kafka_iam_oauth`. Installed as the global
/// subscriber only when the process has none.
struct PyLogSubscriber;

struct MessageVisitor(String);

impl tracing::field::Visit for MessageVisitor {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        use std::fmt::Write;
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, " {}={value:?}", field.name());
        }
    }
}

impl tracing::Subscriber for PyLogSubscriber {
    fn enabled(&self, metadata: &tracing::Metadata<'_>) -> bool {
        metadata.target().starts_with("kafka_iam_oauth")
            && *metadata.level() <= tracing::Level::INFO
    }
    fn new_span(&self, _span: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _span: &tracing::span::Id, _values: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _span: &tracing::span::Id, _follows: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        let mut v = MessageVisitor(String::new());
        event.record(&mut v);
        let level = match *event.metadata().level() {
            tracing::Level::ERROR => "error",
            tracing::Level::WARN => "warning",
            _ => "info",
        };
        // SAFETY: a plain query of the interpreter state.
        if unsafe { pyo3::ffi::Py_IsInitialized() } == 0 {
            return;
        }
        Python::with_gil(|py| log(py, level, &v.0));
    }
    fn enter(&self, _span: &tracing::span::Id) {}
    fn exit(&self, _span: &tracing::span::Id) {}
}

fn json_to_py(py: Python<'_>, v: &Value) -> PyResult<PyObject> {
    Ok(match v {
        Value::Null => py.None(),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any().unbind(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any().unbind()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any().unbind()
            } else {
                n.as_f64()
                    .unwrap_or(f64::NAN)
                    .into_pyobject(py)?
                    .into_any()
                    .unbind()
            }
        }
        Value::String(s) => s.into_pyobject(py)?.into_any().unbind(),
        Value::Array(a) => {
            let list = PyList::empty(py);
            for item in a {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any().unbind()
        }
        Value::Object(o) => {
            let d = PyDict::new(py);
            for (k, item) in o {
                d.set_item(k, json_to_py(py, item)?)?;
            }
            d.into_any().unbind()
        }
    })
}

fn epoch_seconds(t: std::time::SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
}

fn extensions_dict<'py>(py: Python<'py>, token: &Token) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in token.extensions() {
        d.set_item(k, v)?;
    }
    Ok(d)
}

fn config_dict<'py>(py: Python<'py>, config: &Config) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (k, v) in config.effective() {
        if k == "duration_seconds" {
            d.set_item(k, config.duration_seconds)?;
        } else {
            d.set_item(k, v)?;
        }
    }
    let ext = PyDict::new(py);
    for (k, v) in &config.extensions {
        ext.set_item(k, v)?;
    }
    d.set_item("extensions", ext)?;
    Ok(d)
}

/// A token from STS. `repr()` never shows the JWT.
#[pyclass(module = "kafka_iam_oauth._native", frozen, name = "Token")]
struct PyToken {
    inner: Arc<Token>,
}

#[pymethods]
impl PyToken {
    /// The JWT to send to the broker.
    #[getter]
    fn value(&self) -> &str {
        self.inner.value()
    }
    /// Expiry as seconds since the Unix epoch.
    #[getter]
    fn expires_at(&self) -> f64 {
        epoch_seconds(self.inner.expires_at())
    }
    /// Expiry as milliseconds since the Unix epoch (librdkafka's unit).
    #[getter]
    fn lifetime_ms(&self) -> i64 {
        self.inner.lifetime_ms()
    }
    /// Seconds of validity left.
    #[getter]
    fn remaining_seconds(&self) -> f64 {
        self.inner.remaining().as_secs_f64()
    }
    /// The Kafka principal (the `sub` claim unless `principal_claim` says otherwise).
    #[getter]
    fn principal(&self) -> &str {
        self.inner.principal()
    }
    /// The decoded (unverified) JWT claims.
    #[getter]
    fn claims(&self, py: Python<'_>) -> PyResult<PyObject> {
        let d = PyDict::new(py);
        for (k, v) in self.inner.claims() {
            d.set_item(k, json_to_py(py, v)?)?;
        }
        Ok(d.into_any().unbind())
    }
    /// SASL extensions to send with the token.
    #[getter]
    fn extensions<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        extensions_dict(py, &self.inner)
    }
    fn __repr__(&self) -> String {
        format!(
            "Token(principal={:?}, expires_at={:.3})",
            self.inner.principal(),
            epoch_seconds(self.inner.expires_at())
        )
    }
    fn __str__(&self) -> String {
        self.__repr__()
    }
}

/// Hands out tokens for one configuration; every provider with the same
/// effective configuration in the process shares one cache.
#[pyclass(module = "kafka_iam_oauth._native", frozen, name = "Provider")]
struct PyProvider {
    inner: Provider,
}

fn timeout_arg(timeout: Option<f64>) -> PyResult<Duration> {
    match timeout {
        None => Ok(kafka_iam_oauth::DEFAULT_TIMEOUT),
        Some(t) if t.is_finite() && t >= 0.0 && t < 1.0e9 => Ok(Duration::from_secs_f64(t)),
        Some(t) => Err(PyValueError::new_err(format!(
            "timeout must be a non-negative number of seconds; got {t}"
        ))),
    }
}

#[pymethods]
impl PyProvider {
    #[new]
    #[pyo3(signature = (config, extensions = ""))]
    fn new(py: Python<'_>, config: &str, extensions: &str) -> PyResult<Self> {
        Provider::new(config, extensions)
            .map(|inner| PyProvider { inner })
            .map_err(|e| to_py_err(py, &e))
    }

    /// A token, waiting up to `timeout` seconds (default 8) when none is cached.
    #[pyo3(signature = (timeout = None))]
    fn token(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyToken> {
        let t = timeout_arg(timeout)?;
        if let Some(tok) = self.inner.cached_token() {
            return Ok(PyToken { inner: tok });
        }
        let p = self.inner.clone();
        py.allow_threads(move || p.token_timeout(t))
            .map(|inner| PyToken { inner })
            .map_err(|e| to_py_err(py, &e))
    }

    /// The cached token if it has useful lifetime left; never waits.
    fn cached_token(&self) -> Option<PyToken> {
        self.inner.cached_token().map(|inner| PyToken { inner })
    }

    /// Tokens minted by STS for this configuration in this process.
    #[getter]
    fn mint_count(&self) -> u64 {
        self.inner.mint_count()
    }

    /// The effective configuration (defaults filled in).
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        config_dict(py, self.inner.config())
    }

    fn __repr__(&self) -> String {
        let c = self.inner.config();
        format!(
            "Provider(region={:?}, audience={:?}, duration_seconds={})",
            c.region, c.audience, c.duration_seconds
        )
    }
}

/// Providers used by `oauth_cb`, keyed by the exact config string.
fn providers() -> &'static Mutex<HashMap<String, Provider>> {
    static P: std::sync::OnceLock<Mutex<HashMap<String, Provider>>> = std::sync::OnceLock::new();
    P.get_or_init(|| Mutex::new(HashMap::new()))
}

fn provider_for(config: &str) -> Result<Provider, Error> {
    let mut map = providers().lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = map.get(config) {
        return Ok(p.clone());
    }
    let p = Provider::new(config, "")?;
    if map.len() < 1024 {
        map.insert(config.to_string(), p.clone());
    }
    Ok(p)
}

/// confluent-kafka's `oauth_cb`: `(token, expiry_epoch_seconds, principal, extensions)`.
#[pyfunction]
fn oauth_cb<'py>(py: Python<'py>, config: &str) -> PyResult<Bound<'py, PyTuple>> {
    // Warm path: a map lookup and a lock-free cache read, GIL kept.
    let result = provider_for(config).and_then(|p| match p.cached_token() {
        Some(tok) => Ok(tok),
        None => py.allow_threads(move || p.token()),
    });
    match result {
        Ok(tok) => {
            let ext = extensions_dict(py, &tok)?;
            (
                tok.value(),
                epoch_seconds(tok.expires_at()),
                tok.principal(),
                ext,
            )
                .into_pyobject(py)
        }
        Err(e) => {
            let code = e.aws_code().map(|c| format!(" [{c}]")).unwrap_or_default();
            log(
                py,
                "error",
                &format!(
                    "kafka_iam_oauth: no OAUTHBEARER token ({} error{code}): {}",
                    kind_name(e.kind()),
                    e.message()
                ),
            );
            Err(to_py_err(py, &e))
        }
    }
}

/// Validates a config string exactly as `oauth_cb` would (no network call)
/// and returns the effective settings.
#[pyfunction]
#[pyo3(signature = (config, extensions = ""))]
fn parse_config<'py>(
    py: Python<'py>,
    config: &str,
    extensions: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let c = Config::parse(config, extensions).map_err(|e| to_py_err(py, &e))?;
    config_dict(py, &c)
}

#[pymodule]
#[pyo3(name = "_native")]
fn native_module(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let _ = tracing::subscriber::set_global_default(PyLogSubscriber);
    let ex = exceptions(py)?;
    m.add("Error", ex.base.clone_ref(py))?;
    m.add("ConfigError", ex.config.clone_ref(py))?;
    m.add("CredentialsError", ex.credentials.clone_ref(py))?;
    m.add("StsError", ex.sts.clone_ref(py))?;
    m.add("TokenTimeoutError", ex.timeout.clone_ref(py))?;
    m.add_class::<PyToken>()?;
    m.add_class::<PyProvider>()?;
    m.add_function(wrap_pyfunction!(oauth_cb, m)?)?;
    m.add_function(wrap_pyfunction!(parse_config, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}

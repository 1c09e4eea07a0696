//! PyO3 module `kafka_iam_oauth._native` over [`Provider`] (not the C ABI).
//!
//! Everything that may wait (an STS round trip) runs with the GIL released.
//! Failures of `oauth_cb` are logged through Python's `logging` (logger
//! `kafka_iam_oauth`) before the exception is raised, because
//! confluent-kafka drops the exception text. Tokens are never logged.

use kafka_iam_oauth::config::Rule;
use kafka_iam_oauth::{Config, Error, ErrorKind, Provider, Stats, Token};
use pyo3::exceptions::{PyException, PyTimeoutError, PyValueError};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyTuple, PyType};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, UNIX_EPOCH};

mod logging;

/// The Python logger every message of this package goes to.
const LOGGER: &str = "kafka_iam_oauth";

/// `kafka_iam_oauth.__version__`: the workspace's one version
/// (`[workspace.package]` in Cargo.toml), which maturin also gives the wheel
/// (pyproject.toml says `dynamic = ["version"]`).
const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The exception classes. This is the one place they are defined: Python
/// code re-exports them from `_native`. They are made with Python's
/// `type()` because `ConfigError` and `TokenTimeoutError` have two bases
/// (`ValueError`, `TimeoutError`), which PyO3's exception macros cannot
/// express.
struct Exceptions {
    base: Py<PyType>,
    config: Py<PyType>,
    credentials: Py<PyType>,
    sts: Py<PyType>,
    timeout: Py<PyType>,
}

static EXCEPTIONS: PyOnceLock<Exceptions> = PyOnceLock::new();

fn make_exceptions(py: Python<'_>) -> PyResult<Exceptions> {
    let type_ = py.import("builtins")?.getattr("type")?;
    let make = |name: &str, bases: &[Bound<'_, PyType>], doc: &str| -> PyResult<Py<PyType>> {
        let ns = PyDict::new(py);
        // Shown as `kafka_iam_oauth.ConfigError`, where users import it from.
        ns.set_item("__module__", LOGGER)?;
        ns.set_item("__doc__", doc)?;
        let cls = type_.call1((name, PyTuple::new(py, bases)?, ns))?;
        Ok(cls.cast_into::<PyType>()?.unbind())
    };
    let base = make(
        "Error",
        &[py.get_type::<PyException>()],
        "Base class of every kafka_iam_oauth error. `aws_code` is the AWS error code for STS errors, else None; `kind` names the error class in lower case.",
    )?;
    // Class-level defaults, so an instance made from Python code (tests,
    // subclasses) still has both attributes.
    base.bind(py).setattr("aws_code", py.None())?;
    base.bind(py).setattr("kind", "internal")?;
    let b = base.bind(py).clone();
    let config = make(
        "ConfigError",
        &[b.clone(), py.get_type::<PyValueError>()],
        "The configuration string is invalid; the message names the key.",
    )?;
    let credentials = make(
        "CredentialsError",
        std::slice::from_ref(&b),
        "No AWS credentials could be found or used.",
    )?;
    let sts = make(
        "StsError",
        std::slice::from_ref(&b),
        "AWS STS answered with an error; `aws_code` holds its error code.",
    )?;
    let timeout = make(
        "TokenTimeoutError",
        &[b.clone(), py.get_type::<PyTimeoutError>()],
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
        typed_setting(&d, &k, &v)?;
    }
    let ext = PyDict::new(py);
    for (k, v) in &config.extensions {
        ext.set_item(k, v)?;
    }
    d.set_item("extensions", ext)?;
    Ok(d)
}

/// One effective setting, typed by its key's rule in the core's table:
/// integers as `int`, `true`/`false` keys as `bool`, the rest (and tags) as
/// `str`.
fn typed_setting(d: &Bound<'_, PyDict>, key: &str, value: &str) -> PyResult<()> {
    let rule = kafka_iam_oauth::config::KEYS
        .iter()
        .find(|k| !k.prefix && k.name == key)
        .map(|k| k.rule);
    match rule {
        Some(Rule::Integer { .. }) => {
            if let Ok(n) = value.trim().parse::<i64>() {
                return d.set_item(key, n);
            }
        }
        Some(Rule::OneOf { values, .. })
            if values.len() == 2
                && values.iter().any(|v| v.eq_ignore_ascii_case("true"))
                && values.iter().any(|v| v.eq_ignore_ascii_case("false")) =>
        {
            if value.eq_ignore_ascii_case("true") {
                return d.set_item(key, true);
            }
            if value.eq_ignore_ascii_case("false") {
                return d.set_item(key, false);
            }
        }
        _ => {}
    }
    d.set_item(key, value)
}

fn opt_secs(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64())
}

/// What a provider's cache entry has done (`Provider.stats()`): counters
/// and times in seconds (float, or None). Read it instead of scraping logs.
#[pyclass(module = "kafka_iam_oauth._native", frozen, name = "Stats")]
struct PyStats {
    inner: Stats,
}

#[pymethods]
impl PyStats {
    /// Tokens STS minted for this configuration in this process.
    #[getter]
    fn mints(&self) -> u64 {
        self.inner.mints
    }
    /// Mints that failed.
    #[getter]
    fn failures(&self) -> u64 {
        self.inner.failures
    }
    /// The `kind` of the most recent failure (the name the exceptions'
    /// `kind` attribute uses), kept after later successes; None if none.
    #[getter]
    fn last_error_kind(&self) -> Option<&'static str> {
        self.inner.last_error_kind.map(kind_name)
    }
    /// Seconds until the cached token expires (0.0 if it has); None when
    /// no token is cached.
    #[getter]
    fn expires_in(&self) -> Option<f64> {
        opt_secs(self.inner.expires_in)
    }
    /// Seconds until the background refresh is due; None when no token is
    /// cached.
    #[getter]
    fn refresh_in(&self) -> Option<f64> {
        opt_secs(self.inner.refresh_in)
    }
    /// After a failure, seconds until STS is asked again (callers get the
    /// remembered error meanwhile); None when no failure is remembered.
    #[getter]
    fn next_attempt_in(&self) -> Option<f64> {
        opt_secs(self.inner.next_attempt_in)
    }
    /// The fields as a dict.
    fn _asdict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        d.set_item("mints", self.mints())?;
        d.set_item("failures", self.failures())?;
        d.set_item("last_error_kind", self.last_error_kind())?;
        d.set_item("expires_in", self.expires_in())?;
        d.set_item("refresh_in", self.refresh_in())?;
        d.set_item("next_attempt_in", self.next_attempt_in())?;
        Ok(d)
    }
    fn __repr__(&self) -> String {
        let f = |v: Option<f64>| {
            v.map(|v| format!("{v:.3}"))
                .unwrap_or_else(|| "None".into())
        };
        format!(
            "Stats(mints={}, failures={}, last_error_kind={}, expires_in={}, refresh_in={}, next_attempt_in={})",
            self.mints(),
            self.failures(),
            self.last_error_kind()
                .map(|k| format!("{k:?}"))
                .unwrap_or_else(|| "None".into()),
            f(self.expires_in()),
            f(self.refresh_in()),
            f(self.next_attempt_in()),
        )
    }
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
    /// The decoded (unverified) JWT claims, as plain Python objects.
    #[getter]
    fn claims<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(pythonize::pythonize(py, self.inner.claims())?)
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
        let _attached = logging::Attached::enter(py);
        logging::drain(py);
        Provider::new(config, extensions)
            .map(|inner| PyProvider { inner })
            .map_err(|e| to_py_err(py, &e))
    }

    /// A token, waiting up to `timeout` seconds (default 8) when none is cached.
    #[pyo3(signature = (timeout = None))]
    fn token(&self, py: Python<'_>, timeout: Option<f64>) -> PyResult<PyToken> {
        let t = timeout_arg(timeout)?;
        let _attached = logging::Attached::enter(py);
        logging::drain(py);
        if let Some(tok) = self.inner.cached_token() {
            return Ok(PyToken { inner: tok });
        }
        let p = self.inner.clone();
        let result = logging::detached(py, move || p.token_timeout(t));
        // A failed mint logged on the runtime's worker: its record reaches
        // the handlers here, on this thread, before the exception.
        logging::drain(py);
        result
            .map(|inner| PyToken { inner })
            .map_err(|e| to_py_err(py, &e))
    }

    /// The cached token if it has useful lifetime left; never waits.
    fn cached_token(&self, py: Python<'_>) -> Option<PyToken> {
        logging::drain(py);
        self.inner.cached_token().map(|inner| PyToken { inner })
    }

    /// Counters and times of this configuration's cache entry.
    fn stats(&self, py: Python<'_>) -> PyStats {
        logging::drain(py);
        PyStats {
            inner: self.inner.stats(),
        }
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

/// The provider for `oauth_cb`'s config string.
///
/// The core could answer directly (`Provider::new` finds the shared entry
/// in its registry, keyed by the parsed `Config`), but that costs about
/// 2 µs per call, six times a whole warm `oauth_cb` (0.33 µs; `timeit`,
/// docs/python.md), and confluent-kafka passes the same string every time. So the exact string is remembered here; which cache
/// entry (and so which token) it maps to is still the core's decision.
/// Only reached with the GIL held, so the lock is never contended and a
/// `fork()` (which needs the GIL in Python) cannot find it locked.
fn provider_for(config: &str) -> Result<Provider, Error> {
    static PROVIDERS: OnceLock<Mutex<HashMap<String, Provider>>> = OnceLock::new();
    /// A program that builds config strings on the fly (a changing tag)
    /// must not grow this without bound; past it, strings are parsed.
    const MAX_REMEMBERED: usize = 64;
    let map = PROVIDERS.get_or_init(Default::default);
    let mut map = map.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(p) = map.get(config) {
        return Ok(p.clone());
    }
    let p = Provider::new(config, "")?;
    if map.len() < MAX_REMEMBERED {
        map.insert(config.to_owned(), p.clone());
    }
    Ok(p)
}

/// confluent-kafka's `oauth_cb`: `(token, expiry_epoch_seconds, principal, extensions)`.
#[pyfunction]
fn oauth_cb<'py>(py: Python<'py>, config: &str) -> PyResult<Bound<'py, PyTuple>> {
    // Warm path: a map lookup and the core's lock-free cache read, GIL
    // kept; a mint waits with the GIL released.
    logging::drain(py);
    let result = provider_for(config).and_then(|p| match p.cached_token() {
        Some(tok) => Ok(tok),
        None => {
            let _attached = logging::Attached::enter(py);
            let r = logging::detached(py, move || p.token());
            logging::drain(py);
            r
        }
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
            // confluent-kafka reports only "OAuth callback raised
            // exception": the reason has to reach the log.
            let code = e.aws_code().map(|c| format!(" [{c}]")).unwrap_or_default();
            logging::report_failure(
                py,
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

/// The `sasl.oauthbearer.config` keys, from the core's table: one dict
/// per key with `name`, `prefix` (`tag_` is a prefix: `tag_<name>=value`),
/// `ours` (not in Confluent's AWS grammar), `required`, `default` (a
/// string, or None), `allowed` and `doc`. Python builds its keyword
/// arguments and error messages from this list instead of its own copy.
#[pyfunction]
fn config_keys(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let keys = PyList::empty(py);
    for k in kafka_iam_oauth::config::KEYS {
        let d = PyDict::new(py);
        d.set_item("name", k.name)?;
        d.set_item("prefix", k.prefix)?;
        d.set_item("ours", k.ours)?;
        d.set_item("required", k.required)?;
        d.set_item("default", k.default)?;
        d.set_item("allowed", k.allowed)?;
        d.set_item("doc", k.doc)?;
        keys.append(d)?;
    }
    Ok(keys)
}

/// Escapes one value for a config or extensions string (`\`, `,`,
/// control characters, a leading space) so the parser reads it back
/// unchanged; the core's own serializer.
#[pyfunction]
fn escape_config_value(value: &str) -> String {
    kafka_iam_oauth::config::escape_value(value)
}

/// The package's Python logger, with its `NullHandler`; Python code logs
/// through it so that `import kafka_iam_oauth` need not import `logging`.
#[pyfunction]
fn _logger(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    logging::python_logger(py)
}

/// Reports a failed token request as `oauth_cb` does (the logger, and
/// stderr when no handler is configured); `TokenProvider.__call__` uses it.
#[pyfunction]
fn _report_failure(py: Python<'_>, message: &str) {
    logging::report_failure(py, message);
}

/// Log records dropped because no Python thread drained the queue in time.
#[pyfunction]
fn _dropped_log_records() -> u64 {
    logging::dropped()
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
    logging::install();
    logging::register_fork_hooks(m)?;
    let ex = exceptions(py)?;
    m.add("Error", ex.base.clone_ref(py))?;
    m.add("ConfigError", ex.config.clone_ref(py))?;
    m.add("CredentialsError", ex.credentials.clone_ref(py))?;
    m.add("StsError", ex.sts.clone_ref(py))?;
    m.add("TokenTimeoutError", ex.timeout.clone_ref(py))?;
    m.add_class::<PyToken>()?;
    m.add_class::<PyProvider>()?;
    m.add_class::<PyStats>()?;
    m.add_function(wrap_pyfunction!(_report_failure, m)?)?;
    m.add_function(wrap_pyfunction!(_dropped_log_records, m)?)?;
    m.add_function(wrap_pyfunction!(oauth_cb, m)?)?;
    m.add_function(wrap_pyfunction!(parse_config, m)?)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    m.add_function(wrap_pyfunction!(escape_config_value, m)?)?;
    m.add_function(wrap_pyfunction!(_logger, m)?)?;
    m.add("__version__", VERSION)?;
    Ok(())
}

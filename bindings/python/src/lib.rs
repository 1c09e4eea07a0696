//! PyO3 module `kafka_iam_oauth._native` over [`Provider`] (not the C ABI).
//!
//! Everything that may wait (an STS round trip) runs with the GIL released.
//! Failures of `oauth_cb` are logged through Python's `logging` (logger
//! `kafka_iam_oauth`) before the exception is raised, because
//! confluent-kafka drops the exception text. Tokens are never logged.

use kafka_iam_oauth::config::Rule;
use kafka_iam_oauth::{Config, Error, ErrorKind, Provider, Stats, Token};
use pyo3::exceptions::{PyException, PyTimeoutError, PyTypeError, PyValueError};
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
    /// A token is immutable: a copy is the same object.
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
    /// Refused: a token is a bearer secret that expires within minutes, so
    /// it should not outlive this process in a file, a queue or a cache.
    fn __reduce__(&self) -> PyResult<()> {
        Err(PyTypeError::new_err(
            "cannot pickle a kafka_iam_oauth Token: it is a short-lived bearer secret; \
             pickle its provider instead and call token() where it is unpickled",
        ))
    }
}

/// Hands out tokens for one configuration; every provider with the same
/// effective configuration in the process shares one cache.
#[pyclass(module = "kafka_iam_oauth._native", frozen, name = "Provider")]
struct PyProvider {
    inner: Provider,
    /// The strings it was built from, for pickling: an unpickled provider
    /// parses them again in its own process (its own cache, by design).
    config: String,
    extensions: String,
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
            .map(|inner| PyProvider {
                inner,
                config: config.to_owned(),
                extensions: extensions.to_owned(),
            })
            .map_err(|e| to_py_err(py, &e))
    }

    /// A provider is a handle on the process-wide cache entry of its
    /// configuration and immutable: a copy (shallow or deep) is the same
    /// object, sharing that entry (no STS call).
    fn __copy__(slf: Py<Self>) -> Py<Self> {
        slf
    }
    fn __deepcopy__(slf: Py<Self>, _memo: &Bound<'_, PyAny>) -> Py<Self> {
        slf
    }
    /// Pickled as its configuration and extensions strings; unpickling
    /// builds a provider from them (the same checks as `Provider(...)`).
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<(Bound<'py, PyAny>, (String, String))> {
        let me = slf.get();
        Ok((
            slf.get_type().into_any(),
            (me.config.clone(), me.extensions.clone()),
        ))
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
///
/// A remembered string nobody has used for the core's eviction time
/// (`policy::IDLE_EVICTION`, 10 min) is forgotten, so its core entry (held
/// by the `Provider` here) can be evicted too: between one and two
/// eviction times after its last use, at the next `oauth_cb` call (sweeps
/// run on a miss and every [`SWEEP_CHECK_EVERY`] hits; nothing runs in a
/// process that stopped calling). The warm path only sets a flag; the
/// clock is read on a miss and every [`SWEEP_CHECK_EVERY`] calls.
fn provider_for(config: &str) -> Result<Provider, Error> {
    /// A program that builds config strings on the fly (a changing tag)
    /// must not grow this without bound; past it, strings are parsed.
    const MAX_REMEMBERED: usize = 64;
    let map = PROVIDERS.get_or_init(Default::default);
    let mut r = map.lock().unwrap_or_else(|p| p.into_inner());
    r.calls = r.calls.wrapping_add(1);
    if r.calls % SWEEP_CHECK_EVERY == 0 {
        r.sweep();
    }
    if let Some((p, used)) = r.providers.get_mut(config) {
        *used = true;
        return Ok(p.clone());
    }
    r.sweep();
    let p = Provider::new(config, "")?;
    if r.providers.len() < MAX_REMEMBERED {
        r.providers.insert(config.to_owned(), (p.clone(), true));
    }
    Ok(p)
}

static PROVIDERS: OnceLock<Mutex<Remembered>> = OnceLock::new();

/// `oauth_cb` looks at the clock for a sweep every this many hits.
const SWEEP_CHECK_EVERY: u32 = 1024;

/// `oauth_cb`'s remembered config strings ([`provider_for`]).
#[derive(Default)]
struct Remembered {
    /// Each string's provider, and whether it was used since the last sweep.
    providers: HashMap<String, (Provider, bool)>,
    calls: u32,
    last_sweep: Option<std::time::Instant>,
}

impl Remembered {
    /// Forgets the strings unused since the last sweep, if that was an
    /// eviction time ago (the core's, so tests that shorten it shorten
    /// this too).
    fn sweep(&mut self) {
        let now = std::time::Instant::now();
        let every = kafka_iam_oauth::testing::idle_eviction();
        match self.last_sweep {
            Some(t) if now.saturating_duration_since(t) < every => {}
            None => self.last_sweep = Some(now),
            Some(_) => {
                self.providers
                    .retain(|_, (_, used)| std::mem::replace(used, false));
                self.last_sweep = Some(now);
            }
        }
    }
}

/// Test hook: `(remembered oauth_cb strings, core cache entries)` after
/// setting the eviction time to `idle_seconds` (0: the default) and, with
/// `sweep`, sweeping the `oauth_cb` map and the core's registry now.
#[pyfunction]
#[pyo3(signature = (idle_seconds = None, sweep = false))]
fn _oauth_cb_map(idle_seconds: Option<f64>, sweep: bool) -> (usize, usize) {
    use kafka_iam_oauth::testing;
    if let Some(s) = idle_seconds.filter(|s| s.is_finite() && *s >= 0.0) {
        testing::set_idle_eviction(Duration::from_secs_f64(s));
    }
    let map = PROVIDERS.get();
    let remembered = map.map_or(0, |m| {
        let mut r = m.lock().unwrap_or_else(|p| p.into_inner());
        if sweep {
            r.sweep();
        }
        r.providers.len()
    });
    if sweep {
        testing::sweep_now();
    }
    (remembered, testing::entry_count())
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
            logging::report_failure(
                py,
                &failure_message(kind_name(e.kind()), e.aws_code(), e.message()),
            );
            Err(to_py_err(py, &e))
        }
    }
}

/// The one wording of a failed token request, for the log and the
/// last-resort stderr line (`oauth_cb` and, through `_report_failure`,
/// the Python token providers).
fn failure_message(kind: &str, aws_code: Option<&str>, message: &str) -> String {
    let code = aws_code.map(|c| format!(" [{c}]")).unwrap_or_default();
    format!("kafka_iam_oauth: no OAUTHBEARER token ({kind} error{code}): {message}")
}

/// `kafka_iam_oauth.check(config)`: `doctor`'s chain of set-up checks
/// (configuration, credentials and their source, the STS endpoint,
/// federation, the permission for this audience, a minted token, and the
/// claims against `expected_issuer` / `expected_audience` when given),
/// in-process, through the core's `diagnose` (its own STS client, never
/// the token cache). Raises the failed step's real exception (`StsError`
/// with `aws_code == "AccessDenied"` when the call is denied); returns the
/// report as a dict when every check passed.
///
/// `timeout` (seconds, default 8) bounds the whole chain: past it,
/// `TokenTimeoutError` names the step still running. Each network step is
/// also bounded by the configuration's `mint_timeout_seconds`; the chain
/// is left to finish on its own thread.
#[pyfunction]
#[pyo3(signature = (config, extensions = "", *, expected_issuer = None, expected_audience = None, timeout = None))]
fn check<'py>(
    py: Python<'py>,
    config: &str,
    extensions: &str,
    expected_issuer: Option<String>,
    expected_audience: Option<String>,
    timeout: Option<f64>,
) -> PyResult<Bound<'py, PyDict>> {
    use kafka_iam_oauth::diagnose::{self, Options};
    let t = timeout_arg(timeout)?;
    let _attached = logging::Attached::enter(py);
    logging::drain(py);
    let options = Options {
        expected_issuer,
        expected_audience,
    };
    // The core runs the checks on their own thread within `t` and names
    // the one still running on a timeout; the GIL is released meanwhile.
    let (config, extensions) = (config.to_owned(), extensions.to_owned());
    let outcome = logging::detached(py, move || {
        diagnose::run_within(&config, &extensions, &options, t)
    });
    logging::drain(py);
    let report = outcome.map_err(|e| to_py_err(py, &e))?;
    let report = report.into_result().map_err(|e| to_py_err(py, &e))?;
    report_dict(py, &report)
}

/// `check()`'s answer: the steps (`check`, `title`, `verdict`, `message`),
/// the identity, and the minted token's principal and expiry (never the JWT).
fn report_dict<'py>(
    py: Python<'py>,
    report: &kafka_iam_oauth::diagnose::Report,
) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let steps = PyList::empty(py);
    for s in &report.steps {
        let step = PyDict::new(py);
        step.set_item("check", s.check.name())?;
        step.set_item("title", s.check.title())?;
        step.set_item("verdict", s.verdict.as_str())?;
        step.set_item("message", &s.message)?;
        steps.append(step)?;
    }
    d.set_item("steps", steps)?;
    if let Some(id) = &report.identity {
        d.set_item("credentials_source", &id.source)?;
        d.set_item("credentials_provider", &id.provider)?;
        d.set_item("profile", id.profile.as_deref())?;
        d.set_item("role_arn", id.role_arn.as_deref())?;
        d.set_item("region", &id.region)?;
        d.set_item("sts_endpoint", &id.sts_endpoint)?;
        d.set_item("caller_arn", id.caller_arn.as_deref())?;
        d.set_item("account", id.account.as_deref())?;
    }
    if let Some(tok) = &report.token {
        d.set_item("principal", tok.principal())?;
        d.set_item("expires_at", epoch_seconds(tok.expires_at()))?;
    }
    Ok(d)
}

/// The `kafka-iam-oauth` command (`kafka_iam_oauth_cli::main_from_args`,
/// the same code as the binary), run by the wheel's console script
/// (`kafka_iam_oauth._cli:main`). `args` is `sys.argv` (the program name
/// first); returns the exit status. Runs with the GIL released: `serve`
/// blocks SIGTERM/SIGINT on this thread and waits for them itself.
#[pyfunction]
fn _cli_main(py: Python<'_>, args: Vec<std::ffi::OsString>) -> i32 {
    let code = logging::detached(py, move || kafka_iam_oauth_cli::main_from_args(args));
    logging::drain(py);
    code
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

/// Reports a failed token request (`error`, one of our exceptions) as
/// `oauth_cb` does: the logger, and stderr when no handler is configured.
/// The Python token providers a client library calls (`TokenProvider` as
/// `oauth_cb`, kafka-python's and aiokafka's) use it, because those
/// libraries also hide or delay the exception.
#[pyfunction]
fn _report_failure(py: Python<'_>, error: &Bound<'_, PyAny>) {
    let attr = |name: &str| -> Option<String> {
        error
            .getattr(name)
            .ok()
            .filter(|v| !v.is_none())
            .and_then(|v| v.str().ok())
            .map(|s| s.to_string())
    };
    let kind = attr("kind").unwrap_or_else(|| "internal".into());
    let message = error.str().map(|s| s.to_string()).unwrap_or_default();
    logging::report_failure(
        py,
        &failure_message(&kind, attr("aws_code").as_deref(), &message),
    );
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
    m.add_function(wrap_pyfunction!(_oauth_cb_map, m)?)?;
    m.add_function(wrap_pyfunction!(parse_config, m)?)?;
    m.add_function(wrap_pyfunction!(check, m)?)?;
    m.add_function(wrap_pyfunction!(_cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(config_keys, m)?)?;
    m.add_function(wrap_pyfunction!(escape_config_value, m)?)?;
    m.add_function(wrap_pyfunction!(_logger, m)?)?;
    m.add("__version__", VERSION)?;
    Ok(())
}

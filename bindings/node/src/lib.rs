//! The Node-API addon of the npm package `kafka-iam-oauth`, over
//! [`Provider`] (not the C ABI). Conversions and error mapping only: the
//! configuration is parsed, tokens are cached and refreshed, and the set-up
//! checks run in the core. The package's `index.js` wraps these items in
//! the public API (`TokenProvider`, the error classes, the adapters).
//!
//! Nothing here blocks the event loop: a cached token is returned
//! synchronously (the core's lock-free read), a mint runs on the core's
//! runtime and settles its Promise from there
//! ([`Provider::token_then`]), `check` runs on its own threads.
//!
//! Errors thrown or rejected are `Error` objects carrying `code`
//! (`ERR_KAFKA_IAM_OAUTH_<KIND>`), `kind`, `retryable` and `awsCode`; the
//! core's message is the `message`. `index.js` turns them into its
//! subclasses (`ConfigError`, `StsError`, ...). Tokens are never in a
//! message.

use kafka_iam_oauth::diagnose::{self, Options, Report};
use kafka_iam_oauth::{catch_panic, Config, Error as CoreError, ErrorKind, Provider, Token};
use napi::bindgen_prelude::*;
use napi_derive::napi;
use std::collections::HashMap;
use std::time::{Duration, UNIX_EPOCH};

/// A value of a configuration given as an object: strings, numbers
/// (`duration_seconds: 900`) and booleans are written into the core's
/// grammar; the core checks them like any config string.
type ConfigValue = Either3<String, f64, bool>;
/// `sasl.oauthbearer.config` as a string, or as `{ key: value }`.
type ConfigArg = Either<String, HashMap<String, ConfigValue>>;
/// `sasl.oauthbearer.extensions` as a string, or as `{ key: value }`.
type ExtensionsArg = Either<String, HashMap<String, String>>;

fn value_text(v: &ConfigValue) -> String {
    match v {
        Either3::A(s) => s.clone(),
        // Integers without a fraction ("900", not "900.0"); anything else
        // as JavaScript would print it, for the core to refuse by key.
        Either3::B(n) if n.fract() == 0.0 && n.abs() < 9.0e15 => format!("{}", *n as i64),
        Either3::B(n) => n.to_string(),
        Either3::C(b) => b.to_string(),
    }
}

/// The config string for either form; an object is serialized by the
/// core's own writer, keys sorted so that equal objects give equal strings.
fn config_text(config: &ConfigArg) -> String {
    match config {
        Either::A(s) => s.clone(),
        Either::B(map) => {
            let mut pairs: Vec<(&String, String)> =
                map.iter().map(|(k, v)| (k, value_text(v))).collect();
            pairs.sort();
            kafka_iam_oauth::config::config_string(pairs)
        }
    }
}

fn extensions_text(extensions: &Option<ExtensionsArg>) -> String {
    match extensions {
        None => String::new(),
        Some(Either::A(s)) => s.clone(),
        Some(Either::B(map)) => {
            let mut pairs: Vec<(&String, &String)> = map.iter().collect();
            pairs.sort();
            kafka_iam_oauth::config::config_string(pairs)
        }
    }
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

/// The stable `err.code` of each kind, in Node's own style.
fn error_code(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidArgument | ErrorKind::Config => "ERR_KAFKA_IAM_OAUTH_CONFIG",
        ErrorKind::Credentials => "ERR_KAFKA_IAM_OAUTH_CREDENTIALS",
        ErrorKind::Sts => "ERR_KAFKA_IAM_OAUTH_STS",
        ErrorKind::Timeout => "ERR_KAFKA_IAM_OAUTH_TIMEOUT",
        ErrorKind::Internal => "ERR_KAFKA_IAM_OAUTH_INTERNAL",
    }
}

/// A JavaScript `Error` for a core error, made on the JS thread: the core's
/// message, `code`, `kind`, `retryable` and `awsCode` (null unless STS
/// answered with an error code).
fn js_error(env: &Env, e: &CoreError) -> napi::Error {
    let build = || -> Result<napi::Error> {
        let mut obj = env.create_error(napi::Error::new(Status::GenericFailure, e.message()))?;
        obj.set_named_property("code", error_code(e.kind()))?;
        obj.set_named_property("kind", kind_name(e.kind()))?;
        obj.set_named_property("retryable", e.is_retryable())?;
        obj.set_named_property("awsCode", e.aws_code())?;
        Ok(napi::Error::from(obj.to_unknown()))
    };
    build().unwrap_or_else(|err| err)
}

/// Runs an exported function's body under the core's panic guard: a panic
/// becomes the core's internal error (fixed text), thrown like any other,
/// instead of aborting Node (napi-rs's callbacks are `extern "C"`).
fn guarded<T>(env: &Env, body: impl FnOnce() -> Result<T>) -> Result<T> {
    catch_panic(body).map_err(|e| js_error(env, &e))?
}

/// A token as the Kafka clients take it: KafkaJS reads `value` (and
/// `extensions`); confluent-kafka-javascript's KafkaJS API also needs
/// `principal` and `lifetime` (expiry in milliseconds since the epoch).
#[napi(object)]
pub struct NativeToken {
    /// The JWT. Treat it as a secret.
    pub value: String,
    /// The Kafka principal (the `sub` claim unless `principal_claim` says otherwise).
    pub principal: String,
    /// Expiry, milliseconds since the Unix epoch (local clock).
    pub lifetime: f64,
    /// SASL extensions to send with the token.
    pub extensions: HashMap<String, String>,
}

fn native_token(t: &Token) -> NativeToken {
    NativeToken {
        value: t.value().to_owned(),
        principal: t.principal().to_owned(),
        lifetime: t.lifetime_ms() as f64,
        extensions: t
            .extensions()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    }
}

fn opt_ms(d: Option<Duration>) -> Option<f64> {
    d.map(|d| d.as_secs_f64() * 1000.0)
}

/// `provider.stats()`: counters and times (milliseconds) of the
/// configuration's cache entry, shared by every provider of it.
#[napi(object)]
pub struct NativeStats {
    /// Tokens STS minted for this configuration in this process.
    pub mints: f64,
    /// Mints that failed.
    pub failures: f64,
    /// `kind` of the most recent failure, kept after later successes.
    pub last_error_kind: Option<String>,
    /// Until the cached token expires; null when none is cached.
    pub expires_in_ms: Option<f64>,
    /// Until the background refresh is due; null when no token is cached.
    pub refresh_in_ms: Option<f64>,
    /// After a failure, until STS is asked again; null when none is remembered.
    pub next_attempt_in_ms: Option<f64>,
}

/// The timeout of a call that may wait: the core's default when not given.
fn timeout_arg(timeout_ms: Option<f64>) -> Result<Duration> {
    match timeout_ms {
        None => Ok(kafka_iam_oauth::DEFAULT_TIMEOUT),
        Some(t) if t.is_finite() && t >= 0.0 && t < 1.0e12 => {
            Ok(Duration::from_secs_f64(t / 1000.0))
        }
        Some(t) => Err(napi::Error::new(
            Status::InvalidArg,
            format!("timeoutMs must be a non-negative number of milliseconds; got {t}"),
        )),
    }
}

/// One configuration's provider; every provider with the same effective
/// configuration in the process shares one cache entry (one STS call per
/// refresh between them).
#[napi]
pub struct NativeProvider {
    inner: Provider,
}

#[napi]
impl NativeProvider {
    /// Parses `config` and `extensions` at once (no network); a bad key
    /// throws an error whose message names it.
    #[napi(constructor)]
    pub fn new(env: Env, config: ConfigArg, extensions: Option<ExtensionsArg>) -> Result<Self> {
        guarded(&env, || {
            Provider::new(&config_text(&config), &extensions_text(&extensions))
                .map(|inner| NativeProvider { inner })
                .map_err(|e| js_error(&env, &e))
        })
    }

    /// The cached token if it is fresh enough to hand out; never waits.
    #[napi]
    pub fn cached_token(&self, env: Env) -> Result<Option<NativeToken>> {
        guarded(&env, || {
            Ok(self.inner.cached_token().map(|t| native_token(&t)))
        })
    }

    /// A token from the core's cache or a mint: the Promise is settled from
    /// the core's runtime, never by waiting on this thread.
    #[napi(ts_return_type = "Promise<NativeToken>")]
    pub fn mint<'e>(&self, env: &'e Env, timeout_ms: Option<f64>) -> Result<Object<'e>> {
        guarded(env, || {
            let timeout = timeout_arg(timeout_ms)?;
            let (deferred, promise) = env.create_deferred()?;
            self.inner.token_then(timeout, move |result| {
                deferred.resolve(move |env| {
                    guarded(&env, || match result {
                        Ok(t) => Ok(native_token(&t)),
                        Err(e) => Err(js_error(&env, &e)),
                    })
                })
            });
            Ok(promise)
        })
    }

    /// Counters and schedule of this configuration's cache entry; never waits.
    #[napi]
    pub fn stats(&self, env: Env) -> Result<NativeStats> {
        guarded(&env, || {
            let s = self.inner.stats();
            Ok(NativeStats {
                mints: s.mints as f64,
                failures: s.failures as f64,
                last_error_kind: s.last_error_kind.map(|k| kind_name(k).to_owned()),
                expires_in_ms: opt_ms(s.expires_in),
                refresh_in_ms: opt_ms(s.refresh_in),
                next_attempt_in_ms: opt_ms(s.next_attempt_in),
            })
        })
    }

    /// The effective configuration (defaults filled in), as strings.
    #[napi]
    pub fn config(&self, env: Env) -> Result<HashMap<String, String>> {
        guarded(&env, || Ok(effective(self.inner.config())))
    }
}

fn effective(config: &Config) -> HashMap<String, String> {
    config.effective().into_iter().collect()
}

/// Parses a configuration exactly as the provider would (no network) and
/// returns the effective settings.
#[napi]
pub fn parse_config(
    env: Env,
    config: ConfigArg,
    extensions: Option<ExtensionsArg>,
) -> Result<HashMap<String, String>> {
    guarded(&env, || {
        Config::parse(&config_text(&config), &extensions_text(&extensions))
            .map(|c| effective(&c))
            .map_err(|e| js_error(&env, &e))
    })
}

/// One of `check()`'s steps.
#[napi(object)]
pub struct CheckStep {
    /// Stable name (`config`, `credentials`, `sts_endpoint`, ...).
    pub check: String,
    /// What was checked, in words.
    pub title: String,
    /// `pass`, `fail` or `skip`.
    pub verdict: String,
    /// What was found (never a secret).
    pub message: String,
}

/// `check()`'s answer when every step passed.
#[napi(object)]
pub struct CheckReport {
    /// The steps in order.
    pub steps: Vec<CheckStep>,
    /// Where the credentials came from (the SDK's source name).
    pub credentials_source: Option<String>,
    /// The SDK provider that gave them.
    pub credentials_provider: Option<String>,
    /// The AWS profile, when one was used.
    pub profile: Option<String>,
    /// The role assumed, when `role_arn` is set.
    pub role_arn: Option<String>,
    /// The region used.
    pub region: Option<String>,
    /// The STS endpoint called.
    pub sts_endpoint: Option<String>,
    /// `GetCallerIdentity`'s ARN.
    pub caller_arn: Option<String>,
    /// The AWS account.
    pub account: Option<String>,
    /// The minted token's principal.
    pub principal: Option<String>,
    /// The minted token's expiry, milliseconds since the epoch.
    pub expires_at: Option<f64>,
}

fn steps_of(report: &Report) -> Vec<CheckStep> {
    report
        .steps
        .iter()
        .map(|s| CheckStep {
            check: s.check.name().to_owned(),
            title: s.check.title().to_owned(),
            verdict: s.verdict.as_str().to_owned(),
            message: s.message.clone(),
        })
        .collect()
}

fn check_report(report: &Report) -> CheckReport {
    let id = report.identity.as_ref();
    CheckReport {
        steps: steps_of(report),
        credentials_source: id.map(|i| i.source.clone()),
        credentials_provider: id.map(|i| i.provider.clone()),
        profile: id.and_then(|i| i.profile.clone()),
        role_arn: id.and_then(|i| i.role_arn.clone()),
        region: id.map(|i| i.region.clone()),
        sts_endpoint: id.map(|i| i.sts_endpoint.clone()),
        caller_arn: id.and_then(|i| i.caller_arn.clone()),
        account: id.and_then(|i| i.account.clone()),
        principal: report.token.as_ref().map(|t| t.principal().to_owned()),
        expires_at: report.token.as_ref().map(|t| {
            t.expires_at()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64() * 1000.0)
                .unwrap_or(0.0)
        }),
    }
}

/// `check()`: the core's set-up checks (`diagnose::run_within`, what
/// `kafka-iam-oauth doctor` runs), off the event loop. Resolves with the
/// report when every step passed; rejects with the failed step's own error
/// (with `steps` attached), or a timeout error naming the step still
/// running once `timeoutMs` has passed.
#[napi(ts_return_type = "Promise<CheckReport>")]
pub fn check<'e>(
    env: &'e Env,
    config: ConfigArg,
    extensions: Option<ExtensionsArg>,
    expected_issuer: Option<String>,
    expected_audience: Option<String>,
    timeout_ms: Option<f64>,
) -> Result<Object<'e>> {
    guarded(env, || {
        let timeout = timeout_arg(timeout_ms)?;
        let (config, extensions) = (config_text(&config), extensions_text(&extensions));
        let options = Options {
            expected_issuer,
            expected_audience,
        };
        let (deferred, promise) = env.create_deferred()?;
        // The core's deadline wait runs on a thread of its own (and the checks
        // on another), so the event loop never waits for it.
        let waiter = move || {
            // A panic here would leave the Promise pending for ever.
            let outcome =
                catch_panic(|| diagnose::run_within(&config, &extensions, &options, timeout))
                    .and_then(|r| r);
            deferred.resolve(move |env| {
                guarded(&env, || match outcome {
                    Err(e) => Err(js_error(&env, &e)),
                    Ok(report) => {
                        let steps = steps_of(&report);
                        match report.into_result() {
                            Ok(report) => Ok(check_report(&report)),
                            Err(e) => attach_steps(&env, js_error(&env, &e), steps),
                        }
                    }
                })
            });
        };
        std::thread::Builder::new()
            .name("kafka-iam-oauth-check-wait".into())
            .spawn(waiter)
            .map_err(|e| napi::Error::from_reason(format!("cannot start the check: {e}")))?;
        Ok(promise)
    })
}

/// The failed check's error with the steps so far as `err.steps`.
fn attach_steps(env: &Env, err: napi::Error, steps: Vec<CheckStep>) -> Result<CheckReport> {
    let obj: Result<Object<'_>> = (|| {
        let value = unsafe { ToNapiValue::to_napi_value(env.raw(), err)? };
        let mut obj = unsafe { Object::from_napi_value(env.raw(), value)? };
        obj.set_named_property("steps", steps)?;
        Ok(obj)
    })();
    match obj {
        Ok(obj) => Err(napi::Error::from(obj.to_unknown())),
        Err(e) => Err(e),
    }
}

/// The `config` keys from the core's table (name, default, allowed
/// values, doc line), for tools and error messages.
#[napi(object)]
pub struct ConfigKey {
    /// The key (`tag_` is a prefix: `tag_<name>=value`).
    pub name: String,
    /// Whether `name` is a prefix.
    pub prefix: bool,
    /// Whether the key is required.
    pub required: bool,
    /// The default, if any.
    pub default: Option<String>,
    /// What values are allowed, in words.
    pub allowed: String,
    /// One line of documentation.
    pub doc: String,
}

/// Every configuration key the core knows.
#[napi]
pub fn config_keys(env: Env) -> Result<Vec<ConfigKey>> {
    guarded(&env, || {
        Ok(kafka_iam_oauth::config::KEYS
            .iter()
            .map(|k| ConfigKey {
                name: k.name.to_owned(),
                prefix: k.prefix,
                required: k.required,
                default: k.default.map(str::to_owned),
                allowed: k.allowed.to_owned(),
                doc: k.doc.to_owned(),
            })
            .collect())
    })
}

/// The library's version (the workspace's one version).
#[napi]
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

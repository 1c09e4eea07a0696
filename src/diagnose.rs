//! The ordered chain of set-up checks behind `kafka-iam-oauth doctor`,
//! `whoami` and Python's `kafka_iam_oauth.check(config)`: configuration,
//! credentials (and where they came from), the STS endpoint, outbound
//! federation, the permission for this audience, a minted token, and its
//! claims against what the broker expects.
//!
//! Every run uses its own [`Minter`](crate::sts) (fresh SDK clients and
//! credential chain), never the process's token cache: a remembered failure
//! or a cached token would hide what is true now. The chain stops at the
//! first failure; the checks after it are not run (and not reported).
//!
//! ```no_run
//! use kafka_iam_oauth::diagnose::{self, Options};
//! let report = diagnose::run(
//!     "region=eu-west-1,audience=my-kafka.example.com",
//!     "",
//!     &Options::default(),
//!     |step| println!("{}: {} {}", step.check.name(), step.verdict.as_str(), step.message),
//! );
//! if let Some(failed) = report.failure() {
//!     eprintln!("failed at {}: {}", failed.check.title(), failed.message);
//! }
//! ```

use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime;
use crate::sts::{self, code_is, Minter};
use crate::token::Token;
use std::future::Future;
use std::sync::Arc;

/// One check of the chain, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Check {
    /// `sasl.oauthbearer.config` parses and every key is valid.
    Config,
    /// The credential chain hands out credentials (and from where).
    Credentials,
    /// The STS endpoint answers (`GetCallerIdentity`: who is calling).
    StsEndpoint,
    /// Outbound web identity federation is enabled in the account.
    Federation,
    /// The principal may call `sts:GetWebIdentityToken` for this audience.
    Permission,
    /// A token was minted.
    Token,
    /// The token's claims match the broker's expected issuer and audience
    /// (skipped when neither is given).
    Claims,
}

impl Check {
    /// Every check, in order.
    pub const ALL: [Check; 7] = [
        Check::Config,
        Check::Credentials,
        Check::StsEndpoint,
        Check::Federation,
        Check::Permission,
        Check::Token,
        Check::Claims,
    ];

    /// A stable identifier (`config`, `credentials`, `sts_endpoint`,
    /// `federation`, `permission`, `token`, `claims`), for JSON and tests.
    pub fn name(self) -> &'static str {
        match self {
            Check::Config => "config",
            Check::Credentials => "credentials",
            Check::StsEndpoint => "sts_endpoint",
            Check::Federation => "federation",
            Check::Permission => "permission",
            Check::Token => "token",
            Check::Claims => "claims",
        }
    }

    /// A short human title.
    pub fn title(self) -> &'static str {
        match self {
            Check::Config => "configuration valid",
            Check::Credentials => "AWS credentials found",
            Check::StsEndpoint => "STS endpoint reachable",
            Check::Federation => "outbound web identity federation enabled",
            Check::Permission => "permission for this audience",
            Check::Token => "token minted",
            Check::Claims => "claims match the broker's issuer and audience",
        }
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The check passed.
    Pass,
    /// The check failed; the chain stops here.
    Fail,
    /// The check was not applicable (e.g. no expected issuer or audience).
    Skip,
}

impl Verdict {
    /// `pass`, `fail` or `skip`.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Pass => "pass",
            Verdict::Fail => "fail",
            Verdict::Skip => "skip",
        }
    }
}

/// One step's result.
#[derive(Debug, Clone)]
pub struct Step {
    /// Which check.
    pub check: Check,
    /// Its outcome.
    pub verdict: Verdict,
    /// What was found (on a pass) or what to do (on a failure). Never holds
    /// a token or a secret.
    pub message: String,
    /// On a failure, the library's error (with its kind and AWS code) when
    /// the failure came from one; `None` for a claims mismatch.
    pub error: Option<Error>,
}

/// What the broker expects, for the claims check.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The broker's `sasl.oauthbearer.expected.issuer`.
    pub expected_issuer: Option<String>,
    /// The broker's `sasl.oauthbearer.expected.audience`.
    pub expected_audience: Option<String>,
}

/// Where the credentials came from and who they belong to.
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// The chain as configured: "the AWS credential chain", a profile's
    /// `credential_process`, or "AssumeRole of ... (with credentials from ...)".
    pub source: String,
    /// The SDK provider that answered (`Environment`, `Profile`,
    /// `AssumeRoleProvider`, `WebIdentityToken`, `EcsContainer`, ...).
    pub provider: String,
    /// The profile in use (`profile` key, else `AWS_PROFILE`), if any.
    pub profile: Option<String>,
    /// The `role_arn` key, if set.
    pub role_arn: Option<String>,
    /// The region STS is called in.
    pub region: String,
    /// The STS endpoint (`sts_endpoint`, or "STS in <region>").
    pub sts_endpoint: String,
    /// `GetCallerIdentity`'s `Arn`, once the endpoint check passed.
    pub caller_arn: Option<String>,
    /// `GetCallerIdentity`'s `Account`.
    pub account: Option<String>,
    /// `GetCallerIdentity`'s `UserId`.
    pub user_id: Option<String>,
}

/// The whole run: every step that ran, in order, and what was learnt.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The steps that ran; the last one failed if any did.
    pub steps: Vec<Step>,
    /// The parsed configuration, when it was valid.
    pub config: Option<Config>,
    /// The identity, once the credentials check passed.
    pub identity: Option<Identity>,
    /// The minted token (its `Debug` never shows the JWT), once the token
    /// check passed. Not cached: no other caller gets it.
    pub token: Option<Arc<Token>>,
}

impl Report {
    /// Whether every step that ran passed or was skipped (the chain ran to
    /// its end).
    pub fn passed(&self) -> bool {
        self.failure().is_none()
    }

    /// The failed step, if any.
    pub fn failure(&self) -> Option<&Step> {
        self.steps.iter().find(|s| s.verdict == Verdict::Fail)
    }

    /// [`Report::failure`]'s error, or a generic one for a claims mismatch
    /// (kind `Config`): what Python's `check()` raises.
    pub fn into_result(self) -> Result<Report> {
        match self.failure() {
            None => Ok(self),
            Some(step) => Err(step.error.clone().unwrap_or_else(|| {
                Error::new(
                    ErrorKind::Config,
                    format!("{}: {}", step.check.title(), step.message),
                )
            })),
        }
    }
}

/// Runs the chain for `config` / `extensions` (the same strings as
/// [`Provider::new`](crate::Provider::new)); `on_step` sees each step as it
/// finishes (for progress lines). Blocks the calling thread; each network
/// step is bounded by the configuration's `mint_timeout_seconds`.
pub fn run(
    config: &str,
    extensions: &str,
    options: &Options,
    mut on_step: impl FnMut(&Step),
) -> Report {
    let mut report = Report::default();
    let mut push = |report: &mut Report, step: Step| {
        on_step(&step);
        let failed = step.verdict == Verdict::Fail;
        report.steps.push(step);
        failed
    };
    let cfg = match Config::parse(config, extensions) {
        Ok(c) => c,
        Err(e) => {
            push(&mut report, fail(Check::Config, e));
            return report;
        }
    };
    let summary = format!(
        "region {}, audience {}, {} s tokens{}",
        cfg.region,
        cfg.audience,
        cfg.duration_seconds,
        cfg.sts_endpoint
            .as_deref()
            .map(|e| format!(", sts_endpoint {e}"))
            .unwrap_or_default()
    );
    push(&mut report, pass(Check::Config, summary));
    report.config = Some(cfg.clone());

    let minter = Arc::new(Minter::new(&cfg));
    let mut identity = Identity {
        profile: cfg
            .profile
            .clone()
            .or_else(|| std::env::var("AWS_PROFILE").ok().filter(|p| !p.is_empty())),
        role_arn: cfg.role_arn.clone(),
        region: cfg.region.clone(),
        sts_endpoint: sts::endpoint_description(&cfg),
        ..Identity::default()
    };

    let m = Arc::clone(&minter);
    match block(async move { m.probe_credentials().await }) {
        Ok((source, provider)) => {
            let message = format!("from {provider} ({source})");
            identity.source = source;
            identity.provider = provider;
            report.identity = Some(identity.clone());
            push(&mut report, pass(Check::Credentials, message));
        }
        Err(e) => {
            push(&mut report, fail(Check::Credentials, e));
            return report;
        }
    }

    let m = Arc::clone(&minter);
    match block(async move { m.caller_identity().await }) {
        Ok(caller) => {
            let message = format!("{} answered: caller {}", identity.sts_endpoint, caller.arn);
            identity.caller_arn = Some(caller.arn);
            identity.account = Some(caller.account);
            identity.user_id = Some(caller.user_id);
            report.identity = Some(identity.clone());
            push(&mut report, pass(Check::StsEndpoint, message));
        }
        Err(e) => {
            push(&mut report, fail(Check::StsEndpoint, e));
            return report;
        }
    }

    let m = Arc::clone(&minter);
    let call = cfg.clone();
    let minted = block(async move { m.mint(&call).await });
    let token = match minted {
        Ok(t) => Arc::new(t),
        Err(e) => {
            if code_is(e.aws_code(), "OutboundWebIdentityFederationDisabled") {
                push(&mut report, fail(Check::Federation, e));
            } else if code_is(e.aws_code(), "AccessDenied") {
                push(
                    &mut report,
                    pass(Check::Federation, "enabled (STS refused on permission)"),
                );
                push(&mut report, fail(Check::Permission, e));
            } else {
                push(&mut report, fail(Check::Token, e));
            }
            return report;
        }
    };
    push(&mut report, pass(Check::Federation, "enabled"));
    push(
        &mut report,
        pass(
            Check::Permission,
            format!(
                "sts:GetWebIdentityToken allowed for audience {}",
                cfg.audience
            ),
        ),
    );
    push(
        &mut report,
        pass(
            Check::Token,
            format!(
                "principal {}, expires in {} s",
                token.principal(),
                token.remaining().as_secs()
            ),
        ),
    );
    report.token = Some(Arc::clone(&token));

    let step = claims_step(&token, options);
    push(&mut report, step);
    report
}

/// [`run`] on a thread of its own, waiting for it at most `timeout`: the
/// report (passed or not), or a [`ErrorKind::Timeout`] error naming the
/// check still running. Past the deadline the thread is left to finish on
/// its own (each network step is bounded by `mint_timeout_seconds`). The
/// deadline of the front doors' `check()` (Python's, Node's: the caller
/// gives one, and waits no longer whatever STS does).
pub fn run_within(
    config: &str,
    extensions: &str,
    options: &Options,
    timeout: std::time::Duration,
) -> Result<Report> {
    use std::sync::mpsc;
    enum Msg {
        Step(Check),
        Done(Box<Report>),
    }
    let (tx, rx) = mpsc::channel();
    let done = tx.clone();
    let (config, extensions, options) = (config.to_owned(), extensions.to_owned(), options.clone());
    std::thread::Builder::new()
        .name("kafka-iam-oauth-check".into())
        .spawn(move || {
            let report = run(&config, &extensions, &options, |step| {
                let _ = tx.send(Msg::Step(step.check));
            });
            let _ = done.send(Msg::Done(Box::new(report)));
        })
        .map_err(|e| Error::new(ErrorKind::Internal, format!("cannot start the checks: {e}")))?;
    let deadline = std::time::Instant::now() + timeout;
    // Steps arrive as they finish: on a timeout, the one after the last
    // reported is still running.
    let mut last: Option<Check> = None;
    loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        match rx.recv_timeout(left) {
            Ok(Msg::Step(c)) => last = Some(c),
            Ok(Msg::Done(report)) => return Ok(*report),
            Err(_) => {
                let running = match last {
                    None => Check::ALL[0],
                    Some(c) => Check::ALL
                        .iter()
                        .skip_while(|x| **x != c)
                        .nth(1)
                        .copied()
                        .unwrap_or(c),
                };
                return Err(Error::new(
                    ErrorKind::Timeout,
                    format!(
                        "the checks did not finish within {:.3} s: still at \"{}\" (allow more time, or see mint_timeout_seconds)",
                        timeout.as_secs_f64(),
                        running.title()
                    ),
                )
                .with_retryable(true));
            }
        }
    }
}

/// [`run`] without progress: the report, or the first failure's error.
pub fn check(config: &str, extensions: &str, options: &Options) -> Result<Report> {
    run(config, extensions, options, |_| {}).into_result()
}

/// The claims check: `iss` equals the expected issuer, `aud` (a string or
/// an array) contains the expected audience.
fn claims_step(token: &Token, options: &Options) -> Step {
    if options.expected_issuer.is_none() && options.expected_audience.is_none() {
        return Step {
            check: Check::Claims,
            verdict: Verdict::Skip,
            message: "no expected issuer or audience given".into(),
            error: None,
        };
    }
    let claims = token.claims();
    let mut found = Vec::new();
    if let Some(want) = &options.expected_issuer {
        let iss = claims.get("iss").and_then(|v| v.as_str()).unwrap_or("");
        if iss != want {
            return mismatch(format!(
                "the token's issuer (iss) is {iss:?} but the broker expects {want:?}: set the broker's \
                 sasl.oauthbearer.expected.issuer to the account's issuer URL (aws iam get-outbound-web-identity-federation-info)"
            ));
        }
        found.push(format!("iss {iss}"));
    }
    if let Some(want) = &options.expected_audience {
        let auds: Vec<&str> = match claims.get("aud") {
            Some(serde_json::Value::String(s)) => vec![s.as_str()],
            Some(serde_json::Value::Array(a)) => a.iter().filter_map(|v| v.as_str()).collect(),
            _ => Vec::new(),
        };
        if !auds.iter().any(|a| a == want) {
            return mismatch(format!(
                "the token's audience (aud) is {auds:?} but the broker expects {want:?}: set audience={want} \
                 in sasl.oauthbearer.config, or the broker's sasl.oauthbearer.expected.audience"
            ));
        }
        found.push(format!("aud {want}"));
    }
    pass(Check::Claims, found.join(", "))
}

fn mismatch(message: String) -> Step {
    Step {
        check: Check::Claims,
        verdict: Verdict::Fail,
        message,
        error: None,
    }
}

fn pass(check: Check, message: impl Into<String>) -> Step {
    Step {
        check,
        verdict: Verdict::Pass,
        message: message.into(),
        error: None,
    }
}

fn fail(check: Check, e: Error) -> Step {
    Step {
        check,
        verdict: Verdict::Fail,
        message: e.message().to_string(),
        error: Some(e),
    }
}

/// Runs `fut` on the library's runtime and waits for it on this thread
/// (futures' executor: works inside a tokio runtime too).
fn block<T: Send + 'static>(fut: impl Future<Output = Result<T>> + Send + 'static) -> Result<T> {
    let handle = runtime::handle()?;
    futures::executor::block_on(handle.spawn(fut))
        .unwrap_or_else(|e| Err(crate::cache::join_error(e)))
}

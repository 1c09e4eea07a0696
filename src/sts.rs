//! Credentials and the STS `GetWebIdentityToken` call: the duration cap,
//! retries with backoff, and error messages that say what to do.
//!
//! Everything here runs on the library's runtime (see `runtime.rs`), called
//! by the cache (see `cache.rs`) at most once at a time per cache entry.
//!
//! One [`Minter`] (SDK config, STS client, credential chain and cached
//! credentials) serves every cache entry whose configurations differ only
//! in what STS sees per call ([`shared_part`]): each mint passes its own
//! [`Config`] for the audience, tags, duration, algorithm, principal claim
//! and extensions.

use crate::config::{AwsDebug, Config, SubjectMode, MIN_DURATION_SECONDS};
use crate::error::{excerpt, Error, ErrorKind, Result, MAX_FOREIGN_TEXT};
use crate::jwt;
use crate::policy::{self, MINT_ATTEMPTS};
use crate::token::Token;
use aws_config::identity::IdentityCache;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::error::CredentialsError;
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_sdk_sts::config::retry::{RetryPartition, TokenBucket};
use aws_sdk_sts::error::{ProvideErrorMetadata, SdkError};
use parking_lot::Mutex;
use std::ffi::CString;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

mod capped;
mod process;

/// Credentials are refreshed when they have less than this left beyond the
/// token they must sign for.
const CREDENTIAL_MARGIN: Duration = Duration::from_secs(15);
/// Per-attempt timeout of one STS call (never more than the mint's
/// deadline, `mint_timeout_seconds`).
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
/// Connect timeout of every SDK client (STS, and the SSO/STS/ECS clients
/// the credential chain uses).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Read timeout (no byte for this long) of every SDK client.
const READ_TIMEOUT: Duration = Duration::from_secs(4);
/// A credentials failure this close to the mint's deadline is reported as
/// the deadline (the SDK's own operation timeout raced ours).
const DEADLINE_RACE: Duration = Duration::from_millis(250);

/// Credential chains (SDK config + STS client + credential provider) built
/// in this process: for tests that check sharing
/// (`kafka_iam_oauth::testing::credential_chains_built`).
pub(crate) static CHAINS_BUILT: AtomicU64 = AtomicU64::new(0);

/// The part of `cfg` that decides the SDK client and the credential chain
/// (region, profile, endpoint, role, session name, external id, debug
/// output, deadline, insecure http): `cfg` with every per-call field
/// (audiences, tags, duration, algorithm, principal claim, subject mode,
/// extensions) set
/// to a fixed value. Configurations with equal shared parts share one
/// [`Minter`]. A field added to [`Config`] later is shared-relevant unless
/// it is cleared here.
pub(crate) fn shared_part(cfg: &Config) -> Config {
    let mut shared = cfg.clone();
    shared.audience = String::new();
    shared.tags.clear();
    shared.duration_seconds = 0;
    shared.signing_algorithm = crate::config::SigningAlgorithm::Es384;
    shared.principal_claim = String::new();
    shared.extra_audiences.clear();
    shared.subject_mode = crate::config::SubjectMode::Caller;
    shared.extensions.clear();
    shared
}

/// Mints tokens for every configuration with one shared part
/// ([`shared_part`]); the per-call fields come with each [`Minter::mint`].
/// The clients are built lazily on the runtime because loading the AWS
/// config reads files and may call IMDS/SSO.
pub(crate) struct Minter {
    /// The shared part only: per-call fields are blank here.
    config: Config,
    /// Built on first use; dropped after a credentials failure so the next
    /// mint reads the AWS config files again (a fixed profile is seen).
    aws: Mutex<Option<Arc<AwsClients>>>,
    /// Held while the clients are built, so concurrent mints of entries
    /// sharing this minter build them once.
    building: tokio::sync::Mutex<()>,
    credentials: Mutex<Option<Credentials>>,
    /// Bumped whenever `credentials` is replaced from the chain.
    credentials_version: AtomicU64,
    /// Held while credentials are fetched from the chain, so concurrent
    /// mints share one fetch (one AssumeRole, one credential_process run).
    fetching: tokio::sync::Mutex<()>,
    /// The SDK provider that handed out the last credentials (kept when
    /// the clients are forgotten), so a source failing mid-life is named
    /// in the error even when the chain then reports no credentials.
    last_provider: Mutex<Option<String>>,
    /// STS's last throttling answer to this minter (`policy::THROTTLE_MEMORY`).
    throttled_at: Mutex<Option<Instant>>,
}

struct AwsClients {
    sts: aws_sdk_sts::Client,
    credentials: SharedCredentialsProvider,
    /// Where credentials come from, for messages.
    source: String,
}

/// The step a mint is in, for the deadline's message.
#[derive(Clone)]
enum Phase {
    /// Reading the AWS config files, building the clients.
    Setup,
    /// Waiting for credentials from the named source.
    Credentials(String),
    /// Calling STS (attempt number, last retryable error).
    Sts(u32, Option<Error>),
}

impl Minter {
    /// A minter for `config`'s shared part.
    pub(crate) fn new(config: &Config) -> Self {
        Minter {
            config: shared_part(config),
            aws: Mutex::new(None),
            building: tokio::sync::Mutex::const_new(()),
            credentials: Mutex::new(None),
            credentials_version: AtomicU64::new(0),
            fetching: tokio::sync::Mutex::const_new(()),
            last_provider: Mutex::new(None),
            throttled_at: Mutex::new(None),
        }
    }

    /// `aws_debug=console` output. Never panics: a closed or broken stderr
    /// (EPIPE with SIGPIPE ignored, as in every Python process) is ignored,
    /// where `eprintln!` would panic inside the mint.
    fn debug(&self, message: impl FnOnce() -> String) {
        if self.config.aws_debug == AwsDebug::Console {
            use std::io::Write;
            let line = format!("kafka-iam-oauth: {}\n", message());
            let _ = std::io::stderr().lock().write_all(line.as_bytes());
        }
    }

    async fn clients(&self) -> Result<Arc<AwsClients>> {
        if let Some(c) = self.aws.lock().clone() {
            return Ok(c);
        }
        // Entries sharing this minter mint concurrently: one builds, the
        // others wait for it (dropped with the mint at its deadline).
        let _building = self.building.lock().await;
        if let Some(c) = self.aws.lock().clone() {
            return Ok(c);
        }
        let built = Arc::new(build_clients(&self.config).await?);
        *self.aws.lock() = Some(Arc::clone(&built));
        Ok(built)
    }

    /// Forgets the clients and credentials: the next mint reads the AWS
    /// config files and asks the credential chain again.
    fn forget_clients(&self) {
        *self.aws.lock() = None;
        *self.credentials.lock() = None;
    }

    /// The cached credentials if they outlive `needed` + margin.
    fn cached_credentials(&self, needed: Duration) -> Option<Credentials> {
        let c = self.credentials.lock().clone()?;
        // Checked: the expiry comes from the network (or a process).
        let fresh = match c.expiry() {
            None => true,
            Some(exp) => SystemTime::now()
                .checked_add(needed.saturating_add(CREDENTIAL_MARGIN))
                .is_some_and(|wanted| exp > wanted),
        };
        fresh.then_some(c)
    }

    /// Current credentials, fetched from the chain when missing, when
    /// `force`, or when they expire within `needed` + margin. Concurrent
    /// callers share one fetch: who waited for another's fetch takes its
    /// result (`force` included: those are fresh).
    async fn credentials(
        &self,
        needed: Duration,
        force: bool,
        phase: &Mutex<Phase>,
    ) -> Result<Credentials> {
        if !force {
            if let Some(c) = self.cached_credentials(needed) {
                return Ok(c);
            }
        }
        let seen = self.credentials_version.load(Ordering::Acquire);
        let clients = self.clients().await?;
        *phase.lock() = Phase::Credentials(clients.source.clone());
        let _fetching = self.fetching.lock().await;
        if self.credentials_version.load(Ordering::Acquire) != seen {
            let fetched = if force {
                self.credentials.lock().clone()
            } else {
                self.cached_credentials(needed)
            };
            if let Some(c) = fetched {
                return Ok(c);
            }
        }
        let c = clients
            .credentials
            .provide_credentials()
            .await
            .map_err(|e| {
                credentials_error(&self.config, e, self.last_provider.lock().as_deref())
            })?;
        *self.last_provider.lock() = Some(provider_name(&c));
        self.debug(|| {
            format!(
                "credentials from {} (access key {}…, expires {})",
                credential_source(&c),
                c.access_key_id().chars().take(4).collect::<String>(),
                c.expiry()
                    .map(|e| format!("in {}s", secs_until(e)))
                    .unwrap_or_else(|| "never".into())
            )
        });
        *self.credentials.lock() = Some(c.clone());
        self.credentials_version.fetch_add(1, Ordering::AcqRel);
        Ok(c)
    }

    /// Mints one token within the deadline (`mint_timeout_seconds`):
    /// credentials, the STS call and its retries together. When the
    /// deadline hits, everything in flight is dropped (a running
    /// credential_process is killed) and the error says which step hung.
    /// After a credentials failure the clients are rebuilt on the next
    /// mint, so a fixed AWS profile is picked up without a restart.
    ///
    /// `call` is the entry's whole configuration: its per-call fields
    /// (audience, tags, duration, algorithm, principal claim, extensions)
    /// go to STS; its shared part is this minter's.
    pub(crate) async fn mint(&self, call: &Config) -> Result<Token> {
        debug_assert!(shared_part(call) == self.config);
        // Per mint, not per minter: mints of entries sharing this minter
        // run concurrently.
        let phase = Mutex::new(Phase::Setup);
        let limit = self.config.mint_timeout();
        let started = tokio::time::Instant::now();
        let result = match tokio::time::timeout(limit, self.mint_with_retries(call, &phase)).await {
            Err(_) => Err(self.deadline_error(limit, phase.lock().clone())),
            // The SDK's operation timeout (the same limit, started a little
            // later) can still win the race with ours on a loaded machine:
            // a failure at the deadline while waiting for credentials is the
            // deadline's, naming the source that hung.
            Ok(Err(e)) if started.elapsed() + DEADLINE_RACE >= limit => {
                let at = phase.lock().clone();
                if matches!(at, Phase::Setup | Phase::Credentials(_)) {
                    tracing::debug!(target: "kafka_iam_oauth", "credentials failed at the mint's deadline: {e}");
                    Err(self.deadline_error(limit, at))
                } else {
                    Err(e)
                }
            }
            Ok(result) => result,
        };
        if let Err(e) = &result {
            let phase = phase.lock().clone();
            if e.kind() == ErrorKind::Credentials || !matches!(phase, Phase::Sts(..)) {
                self.forget_clients();
            }
        }
        result
    }

    /// The error for a mint that hit its deadline: what it was waiting for.
    fn deadline_error(&self, limit: Duration, phase: Phase) -> Error {
        let head = format!(
            "no token within {} s (mint_timeout_seconds)",
            limit.as_secs()
        );
        let (kind, message) = match phase {
            Phase::Setup => (
                ErrorKind::Credentials,
                format!("{head}: loading the AWS configuration (config files, region, credential chain) did not finish"),
            ),
            Phase::Credentials(source) => (
                ErrorKind::Credentials,
                format!(
                    "{head}: {source} did not hand out credentials in time and was stopped. \
                     It must finish on its own, without waiting for input (an MFA prompt, a vault login); \
                     fix it or raise mint_timeout_seconds."
                ),
            ),
            Phase::Sts(attempts, last) => {
                let endpoint = endpoint_name(&self.config);
                (
                    ErrorKind::Timeout,
                    match last {
                        Some(e) => format!(
                            "{head}: GetWebIdentityToken at {endpoint} did not succeed in {attempts} attempt(s); last error: {e}"
                        ),
                        None => format!("{head}: GetWebIdentityToken at {endpoint} did not answer"),
                    },
                )
            }
        };
        Error::new(kind, message).with_retryable(true)
    }

    /// [`Minter::mint`] without the deadline: retries throttling, 5xx and
    /// timeouts up to [`MINT_ATTEMPTS`] times on the
    /// [`policy::mint_backoff`] schedule (slower after a throttling
    /// answer). A token minted within [`policy::THROTTLE_MEMORY`] of a
    /// throttling answer to this minter refreshes on the wider spread
    /// ([`policy::spread_after_throttling`]): a throttled fleet would
    /// otherwise come back at STS's limit every lifetime.
    async fn mint_with_retries(&self, call: &Config, phase: &Mutex<Phase>) -> Result<Token> {
        let mut attempt = 0;
        loop {
            match self.mint_once(call, phase).await {
                // No CA certificates: another attempt within this mint
                // finds the same files; the caller's retry looks again.
                Err(e)
                    if e.is_retryable()
                        && attempt + 1 < MINT_ATTEMPTS
                        && !e.message().contains(capped::NO_TRUST_ROOTS) =>
                {
                    if let Phase::Sts(_, last) = &mut *phase.lock() {
                        *last = Some(e.clone());
                    }
                    let throttled = is_throttling(e.aws_code());
                    if throttled {
                        *self.throttled_at.lock() = Some(Instant::now());
                    }
                    let schedule = policy::mint_backoff(throttled);
                    let delay = policy::retry_delay(attempt, schedule, rand::random());
                    self.debug(|| format!("{e} (retrying in {} ms)", delay.as_millis()));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                Err(e) => {
                    if is_throttling(e.aws_code()) {
                        *self.throttled_at.lock() = Some(Instant::now());
                    }
                    return Err(e);
                }
                Ok(mut token) => {
                    if policy::spread_after_throttling(*self.throttled_at.lock(), Instant::now()) {
                        token.spread_after_throttling();
                    }
                    return Ok(token);
                }
            }
        }
    }

    async fn mint_once(&self, call: &Config, phase: &Mutex<Phase>) -> Result<Token> {
        let wanted = Duration::from_secs(call.duration_seconds.into());
        let min = Duration::from_secs(MIN_DURATION_SECONDS.into());
        let mut creds = self.credentials(min, false, phase).await?;
        let mut duration = capped_duration(wanted, &creds);
        if duration < min {
            // The cap would go under STS's minimum: get fresh credentials.
            creds = self.credentials(wanted, true, phase).await?;
            duration = capped_duration(wanted, &creds);
            if duration < min {
                return Err(Error::new(
                    ErrorKind::Credentials,
                    format!(
                        "the AWS credentials from {} expire in {} s, too soon to sign for a token of at least {} s; \
                         the credential source must hand out credentials that live longer. {}",
                        credential_source(&creds),
                        creds.expiry().map(secs_until).unwrap_or(0),
                        MIN_DURATION_SECONDS,
                        source_advice(&provider_name(&creds))
                    ),
                ));
            }
        }
        match self.call(call, duration, &creds, phase).await {
            Err(e) if code_is(e.aws_code(), "SessionDurationEscalation") => {
                // Our view of the credentials' expiry was wrong (static
                // session keys carry none): refresh them and ask for less.
                let creds = self.credentials(min, true, phase).await?;
                let shorter = match creds.expiry() {
                    Some(_) => capped_duration(duration / 2, &creds).max(min),
                    // Nothing tells how long the keys live: STS's minimum
                    // is the one duration that can still succeed.
                    None => min,
                };
                self.debug(|| {
                    format!(
                        "STS refused {} s (SessionDurationEscalation); retrying once with {} s",
                        duration.as_secs(),
                        shorter.as_secs()
                    )
                });
                self.call(call, shorter, &creds, phase).await
            }
            Err(e) if code_is(e.aws_code(), "ExpiredToken") => {
                *self.credentials.lock() = None;
                Err(e.with_retryable(true))
            }
            other => other,
        }
    }

    async fn call(
        &self,
        cfg: &Config,
        duration: Duration,
        creds: &Credentials,
        phase: &Mutex<Phase>,
    ) -> Result<Token> {
        let clients = self.clients().await?;
        {
            let mut phase = phase.lock();
            *phase = match &*phase {
                Phase::Sts(n, last) => Phase::Sts(n.saturating_add(1), last.clone()),
                _ => Phase::Sts(1, None),
            };
        }
        let seconds = i32::try_from(duration.as_secs()).unwrap_or(i32::MAX);
        let mut req = clients.sts.get_web_identity_token();
        for audience in cfg.audiences() {
            // Each call appends one `Audience.member.N`.
            req = req.audience(audience);
        }
        let mut req = req
            .duration_seconds(seconds)
            .signing_algorithm(cfg.signing_algorithm.as_str());
        for (k, v) in &cfg.tags {
            let tag = aws_sdk_sts::types::Tag::builder()
                .key(k)
                .value(v)
                .build()
                .map_err(|e| Error::config(format!("tag_{k}: {e}")))?;
            req = req.tags(tag);
        }
        self.debug(|| {
            format!(
                "GetWebIdentityToken region={} audience={} duration={}s algorithm={} tags={} subject_mode={}",
                cfg.region,
                cfg.audiences().collect::<Vec<_>>().join(" "),
                duration.as_secs(),
                cfg.signing_algorithm.as_str(),
                cfg.tags.len(),
                cfg.subject_mode.sts_value()
            )
        });
        let started = std::time::Instant::now();
        let mut customized = req.customize().config_override(
            aws_sdk_sts::config::Builder::default().credentials_provider(creds.clone()),
        );
        if cfg.subject_mode != SubjectMode::Caller {
            customized = customized.mutate_request(add_subject_mode(cfg.subject_mode));
        }
        let arrival = Arc::new(Mutex::new(None));
        customized = customized.interceptor(AnswerArrival(Arc::clone(&arrival)));
        let out = customized.send().await.map_err(|e| sts_error(cfg, e))?;
        let (sts_date, arrived) = arrival
            .lock()
            .take()
            .unwrap_or((None, std::time::Instant::now()));
        let jwt_text = out.web_identity_token().unwrap_or_default();
        let claims = jwt::decode_claims(jwt_text)?;
        let principal = jwt::principal_claim(&claims, &cfg.principal_claim)?.to_string();
        let expires_at = expiry(
            out.expiration(),
            &claims,
            duration,
            started,
            (sts_date, arrived),
        )?;
        self.debug(|| {
            format!(
                "token for {principal} valid {} s (took {} ms)",
                expires_at
                    .saturating_duration_since(std::time::Instant::now())
                    .as_secs(),
                started.elapsed().as_millis()
            )
        });
        let cstr = |s: String, what: &str| {
            CString::new(s).map_err(|_| {
                Error::new(
                    ErrorKind::Sts,
                    format!("STS returned a {what} with a NUL byte"),
                )
            })
        };
        let extensions = cfg
            .extensions
            .iter()
            .map(|(k, v)| Ok((cstr(k.clone(), "extension")?, cstr(v.clone(), "extension")?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Token::new(
            cstr(jwt_text.to_string(), "token")?,
            expires_at,
            cstr(principal, "principal")?,
            claims,
            extensions,
        ))
    }
}

/// Who signs the calls (`GetCallerIdentity`), for `diagnose`.
pub(crate) struct Caller {
    pub arn: String,
    pub account: String,
    pub user_id: String,
}

impl Minter {
    /// For `diagnose`: credentials from the chain, within the mint's
    /// deadline; returns the chain's description (profile, role) and the
    /// SDK provider that answered (`Environment`, `Profile`, ...).
    pub(crate) async fn probe_credentials(&self) -> Result<(String, String)> {
        let phase = Mutex::new(Phase::Setup);
        let limit = self.config.mint_timeout();
        let probe = async {
            let c = self.credentials(Duration::ZERO, false, &phase).await?;
            let source = self.clients().await?.source.clone();
            Ok((source, credential_source(&c)))
        };
        let result = match tokio::time::timeout(limit, probe).await {
            Err(_) => Err(self.deadline_error(limit, phase.lock().clone())),
            Ok(r) => r,
        };
        if result.is_err() {
            self.forget_clients();
        }
        result
    }

    /// For `diagnose` and `whoami`: `GetCallerIdentity` with the cached
    /// credentials (call [`Minter::probe_credentials`] first), one attempt
    /// within the mint's deadline.
    pub(crate) async fn caller_identity(&self) -> Result<Caller> {
        let limit = self.config.mint_timeout();
        let call = async {
            let phase = Mutex::new(Phase::Setup);
            let creds = self.credentials(Duration::ZERO, false, &phase).await?;
            let clients = self.clients().await?;
            let out = clients
                .sts
                .get_caller_identity()
                .customize()
                .config_override(
                    aws_sdk_sts::config::Builder::default().credentials_provider(creds),
                )
                .send()
                .await
                .map_err(|e| sts_error_of("GetCallerIdentity", &self.config, e))?;
            Ok(Caller {
                arn: out.arn().unwrap_or_default().to_string(),
                account: out.account().unwrap_or_default().to_string(),
                user_id: out.user_id().unwrap_or_default().to_string(),
            })
        };
        match tokio::time::timeout(limit, call).await {
            Err(_) => Err(Error::new(
                ErrorKind::Timeout,
                format!(
                    "GetCallerIdentity at {} did not answer within {} s (mint_timeout_seconds)",
                    endpoint_name(&self.config),
                    limit.as_secs()
                ),
            )
            .with_retryable(true)),
            Ok(r) => r,
        }
    }
}

/// "http://127.0.0.1:4566" or "STS in eu-west-1": where the calls go.
pub(crate) fn endpoint_description(cfg: &Config) -> String {
    endpoint_name(cfg)
}

/// Adds `SubjectMode=<mode>` to the AWS Query form of a
/// `GetWebIdentityToken` request.
///
/// aws-sdk-sts 1.124 does not model `SubjectMode` yet, so the field goes in
/// through the SDK's request-customization hook (`mutate_request`), which
/// runs before the request is signed: the SigV4 signature covers it as it
/// covers the modelled fields. Drop this hook, and set the field with the
/// builder, once aws-sdk-sts models `SubjectMode`.
fn add_subject_mode(
    mode: SubjectMode,
) -> impl Fn(&mut aws_smithy_runtime_api::http::Request) + Send + Sync + 'static {
    move |request| {
        let Some(body) = request.body().bytes() else {
            return; // never for the Query protocol: its bodies are in memory
        };
        let mut form = body.to_vec();
        if !form.is_empty() {
            form.push(b'&');
        }
        form.extend_from_slice(b"SubjectMode=");
        form.extend_from_slice(mode.sts_value().as_bytes());
        let length = form.len().to_string();
        *request.body_mut() = aws_smithy_types::body::SdkBody::from(form);
        if request.headers().contains_key("content-length") {
            request.headers_mut().insert("content-length", length);
        }
    }
}

/// The STS client and the credential provider for `cfg`.
async fn build_clients(cfg: &Config) -> Result<AwsClients> {
    CHAINS_BUILT.fetch_add(1, Ordering::Relaxed);
    let sdk = load_sdk_config(cfg).await;
    let (credentials, source) = credentials_provider(cfg, &sdk).await?;
    let sts_config = aws_sdk_sts::config::Builder::from(&sdk)
        .identity_cache(IdentityCache::no_cache())
        // We retry ourselves, with the error advice below.
        .retry_config(RetryConfig::disabled())
        .retry_partition(own_partition("kafka-iam-oauth"))
        .timeout_config(timeouts(cfg))
        .build();
    Ok(AwsClients {
        sts: aws_sdk_sts::Client::from_conf(sts_config),
        credentials,
        source,
    })
}

/// A retry partition with its own token bucket: the SDK's default one
/// lives in a process-wide mutex-guarded map that every client's first
/// request locks; a fork() while another thread holds it would leave our
/// child's first mint waiting forever. For every SDK client the library
/// builds itself (STS, and AssumeRole for `role_arn`).
fn own_partition(name: &'static str) -> RetryPartition {
    RetryPartition::custom(name)
        .token_bucket(TokenBucket::unlimited())
        .build()
}

/// `role_arn`'s AssumeRole, on an STS client of the library's own (its own
/// retry partition: see [`own_partition`]); aws-config's
/// `AssumeRoleProvider` builds its client on the default partition and
/// offers no way to change it. The base provider signs each call (no
/// identity cache here: the minter caches what this returns).
#[derive(Debug)]
struct AssumeRole {
    sts: aws_sdk_sts::Client,
    role: String,
    session_name: String,
    external_id: Option<String>,
}

/// AssumeRole of `role` signed by `base` ([`AssumeRole`]), on `sdk`'s STS
/// endpoint, region, timeouts and retry settings. Without a session name,
/// `assume-role-provider-<ms since epoch>`, as aws-config names it.
pub(crate) fn assume_role(
    sdk: &SdkConfig,
    base: SharedCredentialsProvider,
    role: &str,
    session_name: Option<String>,
    external_id: Option<String>,
) -> SharedCredentialsProvider {
    let sts = aws_sdk_sts::Client::from_conf(
        aws_sdk_sts::config::Builder::from(sdk)
            .identity_cache(IdentityCache::no_cache())
            .credentials_provider(base)
            .retry_partition(own_partition("kafka-iam-oauth-assume-role"))
            .build(),
    );
    let session_name = session_name.unwrap_or_else(|| {
        let ms = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis());
        format!("assume-role-provider-{ms}")
    });
    SharedCredentialsProvider::new(AssumeRole {
        sts,
        role: role.to_string(),
        session_name,
        external_id,
    })
}

impl ProvideCredentials for AssumeRole {
    fn provide_credentials<'a>(
        &'a self,
    ) -> aws_credential_types::provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        aws_credential_types::provider::future::ProvideCredentials::new(async move {
            let out = self
                .sts
                .assume_role()
                .role_arn(&self.role)
                .role_session_name(&self.session_name)
                .set_external_id(self.external_id.clone())
                .send()
                .await
                .map_err(CredentialsError::provider_error)?;
            let c = out.credentials().ok_or_else(|| {
                CredentialsError::unhandled("AssumeRole answered without credentials")
            })?;
            let expiry = SystemTime::try_from(*c.expiration()).map_err(|_| {
                CredentialsError::unhandled("AssumeRole answered an unusable Expiration")
            })?;
            Ok(Credentials::new(
                c.access_key_id(),
                c.secret_access_key(),
                Some(c.session_token().to_string()),
                Some(expiry),
                "AssumeRoleProvider",
            ))
        })
    }
}

/// The SDK's own timeouts, for the STS client and (through the loader) the
/// clients of the credential chain (SSO, AssumeRole, web identity, ECS):
/// connect, read, one attempt, and the whole operation within the mint's
/// deadline. The deadline in [`Minter::mint`] still bounds everything,
/// credential_process included (which has no SDK timeout).
fn timeouts(cfg: &Config) -> TimeoutConfig {
    let limit = cfg.mint_timeout();
    TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT.min(limit))
        .read_timeout(READ_TIMEOUT.min(limit))
        .operation_attempt_timeout(ATTEMPT_TIMEOUT.min(limit))
        .operation_timeout(limit)
        .build()
}

async fn load_sdk_config(cfg: &Config) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(cfg.region.clone()))
        // Every client built from this config (STS, and the credential
        // chain's IMDS, container, SSO and STS clients) reads answers of
        // at most capped::MAX_ANSWER_BYTES.
        .http_client(capped::capped_http_client())
        .timeout_config(timeouts(cfg));
    if let Some(profile) = &cfg.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(endpoint) = &cfg.sts_endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    loader.load().await
}

/// The credential provider and a description of it for messages. A
/// profile whose credentials come straight from `credential_process` gets
/// our runner (see `sts/process.rs`: the SDK's cannot be stopped), after
/// the environment variables as in the SDK's default chain.
async fn credentials_provider(
    cfg: &Config,
    sdk: &SdkConfig,
) -> Result<(SharedCredentialsProvider, String)> {
    let (base, source) = match process::ProfileProcess::find(cfg.profile.as_deref()).await {
        Some(found) => {
            let source = found.describe();
            let chain = aws_config::meta::credentials::CredentialsProviderChain::first_try(
                "Environment",
                aws_config::environment::credentials::EnvironmentVariableCredentialsProvider::new(),
            )
            .or_else("Profile", found.provider(sdk).await);
            (SharedCredentialsProvider::new(chain), source)
        }
        None => {
            let base = sdk.credentials_provider().ok_or_else(|| {
                Error::new(
                    ErrorKind::Credentials,
                    "the AWS SDK configuration has no credentials provider",
                )
            })?;
            (base, "the AWS credential chain".to_string())
        }
    };
    let Some(role) = &cfg.role_arn else {
        return Ok((base, source));
    };
    // A fixed session name keeps the assumed-role identity stable.
    let session_name = cfg
        .role_session_name
        .clone()
        .or_else(|| crate::config::default_of("role_session_name").map(String::from))
        .unwrap_or_default();
    Ok((
        assume_role(sdk, base, role, Some(session_name), cfg.external_id.clone()),
        format!("AssumeRole of {role} (with credentials from {source})"),
    ))
}

/// The token must not outlive the credentials that sign for it.
fn capped_duration(wanted: Duration, creds: &Credentials) -> Duration {
    match creds.expiry() {
        None => wanted,
        Some(exp) => {
            let left = exp
                .duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
                .saturating_sub(CREDENTIAL_MARGIN);
            wanted.min(Duration::from_secs(left.as_secs()))
        }
    }
}

/// Records when an STS answer arrived and its `Date` header (STS's clock
/// when it answered, Unix seconds; `None` when absent or unparsable).
#[derive(Debug)]
struct AnswerArrival(Arc<Mutex<Option<(Option<f64>, std::time::Instant)>>>);

impl aws_smithy_runtime_api::client::interceptors::Intercept for AnswerArrival {
    fn name(&self) -> &'static str {
        "kafka-iam-oauth answer arrival"
    }

    fn read_before_deserialization(
        &self,
        context: &aws_smithy_runtime_api::client::interceptors::context::BeforeDeserializationInterceptorContextRef<'_>,
        _: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> std::result::Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        let date = context
            .response()
            .headers()
            .get("date")
            .and_then(|d| {
                aws_smithy_types::DateTime::from_str(
                    d,
                    aws_smithy_types::date_time::Format::HttpDate,
                )
                .ok()
            })
            .map(|d| d.as_secs_f64());
        *self.0.lock() = Some((date, std::time::Instant::now()));
        Ok(())
    }
}

/// Unix seconds as `2026-01-01T00:00:00Z`, for messages.
fn utc(secs: f64) -> String {
    aws_smithy_types::DateTime::from_secs(secs as i64)
        .fmt(aws_smithy_types::date_time::Format::DateTime)
        .unwrap_or_else(|_| format!("{secs} (Unix seconds)"))
}

/// When the token expires, on the local monotonic clock: the earlier of
/// `sent` (when the request left, so the estimate errs early) plus the
/// lifetime STS gave it, measured in STS's own clock
/// (`policy::token_lifetime`: the JWT's `exp - iat`, cross-checked with the
/// response's `Expiration`), and the answer's arrival plus what is left of
/// it by STS's clock (`policy::life_left_by_sts_clock`: `exp` minus the
/// answer's `Date`, or `iat`). A token with no useful life left by STS's
/// clock is refused (retryable). A local clock skewed against STS's
/// changes nothing. Every value from the network goes through checked
/// arithmetic: an absurd one is a malformed answer (retryable), never a
/// panic.
fn expiry(
    response: Option<&aws_smithy_types::DateTime>,
    claims: &serde_json::Map<String, serde_json::Value>,
    requested: Duration,
    sent: std::time::Instant,
    (sts_date, arrived): (Option<f64>, std::time::Instant),
) -> Result<std::time::Instant> {
    let number = |name: &str| claims.get(name).map(|v| v.as_f64().unwrap_or(f64::NAN));
    let bad = |why: &str| {
        Error::new(
            ErrorKind::Sts,
            format!("STS returned a token whose expiry cannot be used: {why}"),
        )
        .with_retryable(true)
    };
    let lifetime = policy::token_lifetime(
        number("iat"),
        number("exp"),
        response.map(|d| d.as_secs_f64()),
        requested,
    )
    .map_err(bad)?;
    let left = policy::life_left_by_sts_clock(
        number("iat"),
        number("exp"),
        response.map(|d| d.as_secs_f64()),
        sts_date,
    )
    .map_err(|e| {
        let at = match e.source {
            policy::StsTime::Date => "STS's clock (its answer's Date header) said",
            policy::StsTime::Iat => "it was issued (iat) at",
        };
        Error::new(
            ErrorKind::Sts,
            format!(
                "STS returned a token with no useful life left by STS's own clock: it expires at {} and {at} {}; \
                 the broker would refuse it (retrying)",
                utc(e.exp),
                utc(e.sts_time)
            ),
        )
        .with_retryable(true)
    })?;
    let by_lifetime = sent.checked_add(lifetime);
    let by_sts_clock = left.and_then(|left| arrived.checked_add(left));
    by_lifetime
        .map(|t| by_sts_clock.map_or(t, |s| s.min(t)))
        .filter(|expires| *expires > std::time::Instant::now())
        .ok_or_else(|| bad("it expired before it arrived"))
}

/// Which credential source handed out `c`, in AWS's words, with the SDK
/// provider's name in brackets: "web identity (EKS IRSA, ...)
/// [WebIdentityToken]". The one place that names a credential source:
/// `aws_debug=console`, error messages and the CLI's `whoami` (through
/// `diagnose`) all use it, so they always agree.
pub(crate) fn credential_source(c: &Credentials) -> String {
    describe_source(&provider_name(c))
}

/// The SDK provider that produced the credentials (`EnvironmentVariable`,
/// `ProfileFile`, `CredentialProcess`, `SSO`, `WebIdentityToken`,
/// `EcsContainer`, `IMDSv2`, `AssumeRoleProvider`). The SDK exposes the
/// name only through `Debug` (which redacts the secret); the session
/// token and secret are never formatted.
fn provider_name(c: &Credentials) -> String {
    let dbg = format!("{c:?}");
    dbg.split("provider_name: \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or("an unknown provider")
        .to_string()
}

/// An SDK provider name as the source a user set up. The container
/// provider serves both EKS Pod Identity and ECS: Pod Identity is the one
/// with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`.
fn describe_source(provider: &str) -> String {
    let what = match provider {
        "EnvironmentVariable" => "environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        "ProfileFile" => "keys in the shared config/credentials files",
        "CredentialProcess" => "a profile's credential_process",
        "SSO" => "IAM Identity Center (SSO) through a profile's sso_session",
        "WebIdentityToken" => {
            "web identity (EKS IRSA: AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN, AssumeRoleWithWebIdentity)"
        }
        "EcsContainer" if env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") => {
            "EKS Pod Identity (the container credentials endpoint with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE)"
        }
        "EcsContainer" => "the ECS container credentials endpoint (task role)",
        "IMDSv2" => "the EC2 instance metadata service (IMDSv2, the instance profile's role)",
        "AssumeRoleProvider" => "AssumeRole of a profile's role_arn",
        other => return format!("the credential provider {other}"),
    };
    format!("{what} [{provider}]")
}

fn env_set(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty())
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| default.to_string())
}

/// What to check when the source behind SDK provider `provider` fails.
/// Names paths and URLs from the environment, never their contents.
fn source_advice(provider: &str) -> String {
    match provider {
        "WebIdentityToken" => format!(
            "Check that the token file AWS_WEB_IDENTITY_TOKEN_FILE ({}) holds a current token (EKS rotates it; \
             an expired one is refused with ExpiredTokenException), that the role AWS_ROLE_ARN ({}) trusts the \
             cluster's OIDC provider for this service account, and that STS is reachable.",
            env_or("AWS_WEB_IDENTITY_TOKEN_FILE", "unset"),
            env_or("AWS_ROLE_ARN", "unset")
        ),
        "EcsContainer" if env_set("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") => format!(
            "Check that the EKS Pod Identity agent answers at AWS_CONTAINER_CREDENTIALS_FULL_URI ({}), that \
             AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ({}) holds the pod's current token, and that the pod's \
             service account has a Pod Identity association.",
            env_or("AWS_CONTAINER_CREDENTIALS_FULL_URI", "unset"),
            env_or("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", "unset")
        ),
        "EcsContainer" => format!(
            "Check that the container credentials endpoint answers ({}) and that the task definition has a task role.",
            std::env::var("AWS_CONTAINER_CREDENTIALS_FULL_URI")
                .map(|u| format!("AWS_CONTAINER_CREDENTIALS_FULL_URI {u}"))
                .or_else(|_| std::env::var("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
                    .map(|u| format!("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI {u}")))
                .unwrap_or_else(|_| "no AWS_CONTAINER_CREDENTIALS_* variable is set".into())
        ),
        "IMDSv2" => format!(
            "Check that the instance metadata service answers at {} (IMDSv2: from a container the token PUT \
             needs a hop limit of 2), that the instance has an instance profile with a role, and that \
             AWS_EC2_METADATA_DISABLED is not true.",
            env_or("AWS_EC2_METADATA_SERVICE_ENDPOINT", "http://169.254.169.254")
        ),
        "SSO" => "Run `aws sso login` again (the SSO session may have expired) and check the profile's \
                  sso_session, sso_account_id and sso_role_name."
            .to_string(),
        "CredentialProcess" => "Check the profile's credential_process command.".to_string(),
        "EnvironmentVariable" => {
            "Check AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.".to_string()
        }
        "ProfileFile" | "AssumeRoleProvider" => {
            "Check the profile in AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE.".to_string()
        }
        _ => String::new(),
    }
}

/// The SDK provider the environment points the default chain at when no
/// credentials came yet (for the first error): the first of web identity,
/// container endpoint and a configured IMDS endpoint that is set up.
fn configured_provider() -> Option<&'static str> {
    if env_set("AWS_ACCESS_KEY_ID") {
        Some("EnvironmentVariable")
    } else if env_set("AWS_WEB_IDENTITY_TOKEN_FILE") && env_set("AWS_ROLE_ARN") {
        Some("WebIdentityToken")
    } else if env_set("AWS_CONTAINER_CREDENTIALS_FULL_URI")
        || env_set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    {
        Some("EcsContainer")
    } else if env_set("AWS_EC2_METADATA_SERVICE_ENDPOINT")
        && !std::env::var("AWS_EC2_METADATA_DISABLED").is_ok_and(|v| v.eq_ignore_ascii_case("true"))
    {
        Some("IMDSv2")
    } else {
        None
    }
}

fn secs_until(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::now())
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// AWS error codes come with and without the `Exception` suffix.
/// Whether an AWS error code says the account is over its request rate.
fn is_throttling(code: Option<&str>) -> bool {
    ["Throttling", "RequestLimitExceeded", "TooManyRequests"]
        .iter()
        .any(|t| code_is(code, t))
}

pub(crate) fn code_is(code: Option<&str>, bare: &str) -> bool {
    code.map(|c| c.strip_suffix("Exception").unwrap_or(c) == bare)
        .unwrap_or(false)
}

/// The SDK's error chain for a message: bounded and redacted (it may hold
/// a credential_process's stderr, or a response body).
fn sdk_detail(e: &dyn std::error::Error) -> String {
    excerpt(
        &aws_smithy_types::error::display::DisplayErrorContext(e).to_string(),
        MAX_FOREIGN_TEXT,
    )
}

/// "http://127.0.0.1:4566" or "STS in eu-west-1", for messages (user info
/// is refused by the config check, so the endpoint holds no password).
fn endpoint_name(cfg: &Config) -> String {
    cfg.sts_endpoint
        .clone()
        .unwrap_or_else(|| format!("STS in {}", cfg.region))
}

/// "a: b: c" from an error and its sources (without the `Debug` dump
/// `DisplayErrorContext` adds), bounded and redacted.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.ends_with(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    excerpt(&text, MAX_FOREIGN_TEXT)
}

/// The error for a failed credential chain. `last_provider`: the SDK
/// provider that handed out the previous credentials, if any; the source
/// that fails mid-life is named with what to check.
fn credentials_error(cfg: &Config, e: CredentialsError, last_provider: Option<&str>) -> Error {
    let failing = last_provider.or(configured_provider());
    if let Some(missing) = capped::no_trust_roots(&e) {
        let from = failing
            .map(describe_source)
            .unwrap_or("the AWS credential chain".into());
        return Error::new(
            ErrorKind::Credentials,
            format!("could not load AWS credentials from {from}: {missing}"),
        )
        .with_retryable(true);
    }
    let detail = error_chain(&e);
    let message = match (e, failing) {
        (CredentialsError::CredentialsNotLoaded(_), Some(p)) if last_provider.is_some() => format!(
            "no AWS credentials: {} handed them out before and now fails. {} ({detail})",
            describe_source(p),
            source_advice(p)
        ),
        (CredentialsError::CredentialsNotLoaded(_), _) => format!(
            "no AWS credentials found. The default chain looked, in order, at: environment variables \
             (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN); the shared config and credentials \
             files (profile {:?} in AWS_CONFIG_FILE or ~/.aws/config, AWS_SHARED_CREDENTIALS_FILE or \
             ~/.aws/credentials, including SSO and credential_process); web identity (AWS_WEB_IDENTITY_TOKEN_FILE \
             + AWS_ROLE_ARN, as EKS IRSA sets them); container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
             or AWS_CONTAINER_CREDENTIALS_FULL_URI, as ECS and EKS Pod Identity set them); and the EC2 instance \
             metadata service (off when AWS_EC2_METADATA_DISABLED=true). Give the process an identity in one of \
             these places. ({detail})",
            cfg.profile.clone().or_else(|| std::env::var("AWS_PROFILE").ok()).unwrap_or_else(|| "default".into())
        ),
        (_, Some(p)) => format!(
            "could not load AWS credentials from {}: {detail}. {}",
            describe_source(p),
            source_advice(p)
        ),
        (_, None) => format!("could not load AWS credentials: {detail}"),
    };
    Error::new(ErrorKind::Credentials, message)
}

fn sts_error<E>(cfg: &Config, e: SdkError<E, aws_smithy_runtime_api::http::Response>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    sts_error_of("GetWebIdentityToken", cfg, e)
}

/// [`sts_error`] for any STS action (`op` names it in the message).
fn sts_error_of<E>(
    op: &str,
    cfg: &Config,
    e: SdkError<E, aws_smithy_runtime_api::http::Response>,
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let endpoint = endpoint_name(cfg);
    if let Some(missing) = capped::no_trust_roots(&e) {
        return Error::new(ErrorKind::Sts, format!("{op} could not be sent: {missing}"))
            .with_retryable(true);
    }
    if let Some(big) = capped::too_large(&e) {
        // Not retried within the mint: another attempt reads another
        // answer of the same kind (capped, but pointless).
        return Error::new(ErrorKind::Sts, format!("{op} refused: {big}"));
    }
    match &e {
        SdkError::TimeoutError(_) => Error::new(
            ErrorKind::Timeout,
            format!(
                "{op} at {endpoint} timed out after {} s",
                ATTEMPT_TIMEOUT.min(cfg.mint_timeout()).as_secs()
            ),
        )
        .with_retryable(true),
        SdkError::DispatchFailure(d) => {
            let detail = sdk_detail(&e);
            if detail.contains("credentials") && !d.is_io() && !d.is_timeout() {
                return Error::new(
                    ErrorKind::Credentials,
                    format!("AWS credentials could not be used: {detail}"),
                );
            }
            Error::new(
                if d.is_timeout() {
                    ErrorKind::Timeout
                } else {
                    ErrorKind::Sts
                },
                format!("could not reach {endpoint}: {detail}"),
            )
            .with_retryable(true)
        }
        SdkError::ResponseError(_) => Error::new(
            ErrorKind::Sts,
            format!("{endpoint} sent a response that is not a valid STS answer (retrying)"),
        )
        .with_retryable(true),
        SdkError::ServiceError(se) => {
            let status = se.raw().status().as_u16();
            let err = se.err();
            let Some(code) = err.code().map(str::to_string) else {
                // No error code: the body was not an STS answer at all.
                return Error::new(
                    ErrorKind::Sts,
                    format!(
                        "{endpoint} sent a response (HTTP {status}) that is not a valid STS answer"
                    ),
                )
                .with_retryable(true);
            };
            // AWS's text, bounded and redacted: it is not ours to trust.
            let aws_message = excerpt(err.message().unwrap_or(""), MAX_FOREIGN_TEXT);
            let code: String = code.chars().filter(|c| !c.is_control()).take(128).collect();
            let c = Some(code.as_str());
            let (advice, retryable) = if code_is(c, "OutboundWebIdentityFederationDisabled") {
                (
                    "outbound web identity federation is not enabled in this AWS account: an account \
                     administrator must run `aws iam enable-outbound-web-identity-federation` once."
                        .to_string(),
                    false,
                )
            } else if code_is(c, "AccessDenied") {
                (
                    format!(
                        "the IAM principal is not allowed to mint this token: grant it `sts:GetWebIdentityToken` \
                         with the condition `sts:IdentityTokenAudience` = {}{}{}",
                        cfg.audiences().map(|a| format!("{a:?}")).collect::<Vec<_>>().join(" and "),
                        format_args!(", `sts:DurationSeconds` >= {}", cfg.duration_seconds),
                        if cfg.tags.is_empty() { "" } else { ", and `sts:TagGetWebIdentityToken` for the tags" }
                    ),
                    false,
                )
            } else if is_throttling(c) {
                ("STS is throttling requests".to_string(), true)
            } else if status >= 500
                || code_is(c, "InternalFailure")
                || code_is(c, "ServiceUnavailable")
            {
                (format!("STS had a server error (HTTP {status})"), true)
            } else if cfg.subject_mode == SubjectMode::OriginIdentity
                && status < 500
                && aws_message.to_ascii_lowercase().contains("origin")
            {
                (
                    "subject_mode=origin_identity needs a session that acts on behalf of someone: \
                     STS found no origin identity context (aws:OriginIdentity/Subject) on the calling session. \
                     Use credentials of a session created with origin identity context (for example a role \
                     assumed through AssumeRoleWithWebIdentity from an identity provider that maps a subject), \
                     or remove subject_mode (default caller: the token's sub is the caller's ARN)."
                        .to_string(),
                    false,
                )
            } else if code_is(c, "SessionDurationEscalation") {
                (
                    "the token would outlive the credentials that sign for it".to_string(),
                    false,
                )
            } else if code_is(c, "ExpiredToken")
                || code_is(c, "InvalidClientTokenId")
                || code_is(c, "SignatureDoesNotMatch")
            {
                (
                    "the AWS credentials were refused by STS (expired, unknown or wrong secret)"
                        .to_string(),
                    false,
                )
            } else {
                (String::new(), false)
            };
            let message = if advice.is_empty() {
                format!("{op} failed: {code}: {aws_message}")
            } else {
                format!("{op} failed: {code}: {advice} (AWS said: {aws_message})")
            };
            Error::sts(code, message).with_retryable(retryable)
        }
        _ => Error::new(
            ErrorKind::Internal,
            format!("{op} could not be sent: {}", sdk_detail(&e)),
        ),
    }
}

//! [`Provider`]: the public Rust API, and what every binding calls.

use crate::cache::{self, Entry};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};
use crate::runtime;
use crate::token::Token;
use std::sync::Arc;
use std::time::Duration;

/// How long [`Provider::token`] waits for a first token by default. Well
/// inside confluent-kafka's 10 s constructor wait.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(8);

/// A snapshot of one cache entry: counters since the process started (or
/// since the entry was created) and the schedule as of the call. Every
/// front door (C, Python, Go) exposes the same fields; tests and monitoring
/// read it instead of scraping logs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Stats {
    /// Tokens STS minted for this entry.
    pub mints: u64,
    /// Mints that failed (one per failed mint, however many STS calls it
    /// made inside).
    pub failures: u64,
    /// The kind of the most recent failure, kept after later successes;
    /// `None` if no mint has failed.
    pub last_error_kind: Option<ErrorKind>,
    /// Time until the cached token expires (zero if it has); `None` when
    /// no token is cached.
    pub expires_in: Option<Duration>,
    /// Time until the background refresh of the cached token is due (zero
    /// if it is due now); `None` when no token is cached.
    pub refresh_in: Option<Duration>,
    /// After a failure, the time until the next STS attempt is allowed
    /// (callers meanwhile get the remembered error at once); `None` when
    /// no failure is being remembered.
    pub next_attempt_in: Option<Duration>,
}

/// Hands out tokens for one configuration. Cheap to clone; all providers
/// with the same effective configuration in a process share one cache entry,
/// so they cause one STS call per refresh between them.
#[derive(Clone)]
pub struct Provider {
    entry: Arc<Entry>,
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("config", self.config())
            .finish()
    }
}

impl Provider {
    /// Validates `config` (`sasl.oauthbearer.config` grammar) and
    /// `extensions` (`sasl.oauthbearer.extensions`, may be empty) and returns
    /// the provider for them. No network call: a bad string fails here.
    pub fn new(config: &str, extensions: &str) -> Result<Provider> {
        Ok(Self::from_config(Config::parse(config, extensions)?))
    }

    /// The provider for an already parsed configuration.
    pub fn from_config(config: Config) -> Provider {
        Provider {
            entry: cache::entry_for(config),
        }
    }

    /// The effective configuration.
    pub fn config(&self) -> &Config {
        self.entry.config()
    }

    /// The cached token if it has a useful lifetime left; never waits.
    #[inline]
    pub fn cached_token(&self) -> Option<Arc<Token>> {
        self.entry.cached()
    }

    /// A token, waiting up to [`DEFAULT_TIMEOUT`] when none is cached.
    /// Callable from any thread, inside a tokio runtime or not.
    pub fn token(&self) -> Result<Arc<Token>> {
        self.token_timeout(DEFAULT_TIMEOUT)
    }

    /// A token, waiting up to `timeout` when none is cached.
    pub fn token_timeout(&self, timeout: Duration) -> Result<Arc<Token>> {
        if let Some(t) = self.entry.cached() {
            return Ok(t);
        }
        let handle = runtime::handle()?;
        let wait = handle.spawn(timed(Arc::clone(&self.entry), timeout));
        // futures' executor, not tokio's: it works on any thread, including
        // one already inside a tokio runtime (rust-rdkafka users).
        futures::executor::block_on(wait).unwrap_or_else(|e| Err(cache::join_error(e)))
    }

    /// A token without blocking the calling executor (any async runtime).
    pub async fn token_async(&self) -> Result<Arc<Token>> {
        self.token_async_timeout(DEFAULT_TIMEOUT).await
    }

    /// [`Provider::token_async`] with an explicit timeout.
    pub async fn token_async_timeout(&self, timeout: Duration) -> Result<Arc<Token>> {
        if let Some(t) = self.entry.cached() {
            return Ok(t);
        }
        let handle = runtime::handle()?;
        handle
            .spawn(timed(Arc::clone(&self.entry), timeout))
            .await
            .unwrap_or_else(|e| Err(cache::join_error(e)))
    }

    /// Gets a token without blocking the caller or needing an executor:
    /// `done` is called with the result once it is there, on the library's
    /// own runtime (or at once, on this thread, when no runtime can be
    /// started). A cached token is not looked up here: call
    /// [`Provider::cached_token`] first if the answer may be needed at once.
    /// For front doors whose callers must never wait (Node's event loop
    /// resolves a Promise from `done`).
    pub fn token_then<F>(&self, timeout: Duration, done: F)
    where
        F: FnOnce(Result<Arc<Token>>) + Send + 'static,
    {
        match runtime::handle() {
            Ok(handle) => {
                let entry = Arc::clone(&self.entry);
                handle.spawn(async move { done(timed(entry, timeout).await) });
            }
            Err(e) => done(Err(e)),
        }
    }

    /// What this provider's cache entry has done and what it will do next
    /// (shared with every provider of the same configuration). Never waits,
    /// never calls STS.
    pub fn stats(&self) -> Stats {
        self.entry.stats()
    }

    /// How many tokens STS has minted for this provider's cache entry in this
    /// process (shared with every provider of the same configuration).
    pub fn mint_count(&self) -> u64 {
        self.entry.mint_count()
    }
}

async fn timed(entry: Arc<Entry>, timeout: Duration) -> Result<Arc<Token>> {
    match tokio::time::timeout(timeout, Arc::clone(&entry).get()).await {
        Ok(r) => r,
        // Out of time while a fresher token was on its way: a still valid
        // one beats an error.
        Err(_) => entry.still_valid_token().ok_or_else(|| {
            Error::new(
                ErrorKind::Timeout,
                format!(
                    "no token within {} ms: STS did not answer in time (set aws_debug=console to see the calls)",
                    timeout.as_millis()
                ),
            )
            .with_retryable(true)
        }),
    }
}

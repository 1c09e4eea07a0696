//! rust-rdkafka adapter (feature `rdkafka`): a ready client context whose
//! SASL/OAUTHBEARER token refreshes are served from the token cache.
//!
//! [`IamOAuthContext`] sets [`ClientContext::ENABLE_REFRESH_OAUTH_TOKEN`] and
//! answers librdkafka's refresh requests from a [`Provider`]; it implements
//! [`ConsumerContext`] and [`ProducerContext`], so it works with
//! `BaseProducer`, `ThreadedProducer`, `FutureProducer`, `BaseConsumer` and
//! `StreamConsumer`:
//!
//! ```no_run
//! use kafka_iam_oauth::rdkafka::IamOAuthContext;
//! use rdkafka::config::ClientConfig;
//! use rdkafka::consumer::{Consumer, StreamConsumer};
//! use rdkafka::producer::FutureProducer;
//!
//! let mut config = ClientConfig::new();
//! config
//!     .set("bootstrap.servers", "my-kafka.example.com:9093")
//!     .set("security.protocol", "SASL_SSL")
//!     .set("sasl.mechanism", "OAUTHBEARER")
//!     .set("sasl.oauthbearer.config", "region=eu-west-1,audience=my-kafka.example.com");
//! // Validates sasl.oauthbearer.config now; no network call.
//! let context = IamOAuthContext::from_client_config(&config)?;
//!
//! let producer: FutureProducer<IamOAuthContext> = config.create_with_context(context.clone())?;
//! let consumer: StreamConsumer<IamOAuthContext> = config
//!     .clone()
//!     .set("group.id", "my-consumer-group")
//!     .create_with_context(context)?;
//! consumer.subscribe(&["my-topic"])?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Refreshes run where rust-rdkafka serves librdkafka's events: in
//! `BaseProducer::poll` / `BaseConsumer::poll`, in the polling thread of
//! `ThreadedProducer` and `FutureProducer`, and inside
//! `StreamConsumer::recv` / `stream()`. Only the first token of a process
//! waits for STS (up to [`crate::DEFAULT_TIMEOUT`]); after that the cache
//! is refreshed ahead of expiry in the background and every refresh returns
//! at once, so a refresh never blocks an async executor for long.
//! [`Provider::token_async`] before creating clients takes even the first
//! wait off the executor.
//!
//! Your own context: keep an [`IamOAuthContext`] (or a [`Provider`]) in it,
//! set `ENABLE_REFRESH_OAUTH_TOKEN = true` and return
//! [`IamOAuthContext::oauth_token`] from `generate_oauth_token`.
//!
//! rust-rdkafka's [`OAuthToken`] has no field for SASL extensions, so a
//! configuration with `sasl.oauthbearer.extensions` is refused here rather
//! than silently sent without them.

use crate::config::{CONFIG_KEY, EXTENSIONS_KEY};
use crate::error::{Error, Result};
use crate::provider::Provider;
use rdkafka::client::{ClientContext, OAuthToken};
use rdkafka::config::ClientConfig;
use rdkafka::consumer::ConsumerContext;
use rdkafka::producer::{DeliveryResult, ProducerContext};

/// A rust-rdkafka client context that authenticates with tokens from a
/// [`Provider`]. Cheap to clone; clones share the provider (and all
/// providers of one configuration share the process-wide cache).
#[derive(Clone, Debug)]
pub struct IamOAuthContext {
    provider: Provider,
}

impl IamOAuthContext {
    /// A context serving tokens from `provider`. Fails when the provider's
    /// configuration has SASL extensions, which rust-rdkafka cannot send.
    pub fn new(provider: Provider) -> Result<IamOAuthContext> {
        if !provider.config().extensions.is_empty() {
            return Err(Error::config(format!(
                "{EXTENSIONS_KEY}: rust-rdkafka cannot send SASL extensions with a token \
                 (rdkafka::client::OAuthToken has no field for them); remove them, or use the \
                 librdkafka plugin or the C adapter, which send them."
            )));
        }
        Ok(IamOAuthContext { provider })
    }

    /// A context for the `sasl.oauthbearer.config` (and
    /// `sasl.oauthbearer.extensions`) already set on `config`, so the
    /// configuration lives in one place. Validates it now; no network call.
    pub fn from_client_config(config: &ClientConfig) -> Result<IamOAuthContext> {
        let oauth = config.get(CONFIG_KEY).unwrap_or("");
        if oauth.is_empty() {
            return Err(Error::config(format!(
                "{CONFIG_KEY} is not set on the ClientConfig; set it to e.g. \
                 \"region=eu-west-1,audience=my-kafka.example.com\"."
            )));
        }
        let extensions = config.get(EXTENSIONS_KEY).unwrap_or("");
        IamOAuthContext::new(Provider::new(oauth, extensions)?)
    }

    /// The provider tokens come from.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// A token in rust-rdkafka's shape: from the cache at once, or waiting
    /// up to [`crate::DEFAULT_TIMEOUT`] for STS. For `generate_oauth_token`
    /// in contexts of your own.
    pub fn oauth_token(&self) -> Result<OAuthToken> {
        let token = self.provider.token()?;
        Ok(OAuthToken {
            token: token.value().to_owned(),
            principal_name: token.principal().to_owned(),
            lifetime_ms: token.lifetime_ms(),
        })
    }
}

impl ClientContext for IamOAuthContext {
    const ENABLE_REFRESH_OAUTH_TOKEN: bool = true;

    fn generate_oauth_token(
        &self,
        _oauthbearer_config: Option<&str>,
    ) -> std::result::Result<OAuthToken, Box<dyn std::error::Error>> {
        // The provider was built from the same configuration; its error
        // messages never contain a token or a secret.
        Ok(self.oauth_token()?)
    }
}

impl ConsumerContext for IamOAuthContext {}

impl ProducerContext for IamOAuthContext {
    type DeliveryOpaque = ();

    fn delivery(&self, _result: &DeliveryResult<'_>, _opaque: Self::DeliveryOpaque) {}
}

//! kafka-iam-oauth: authenticate librdkafka-based Kafka clients as an AWS IAM
//! principal. Mints short-lived JWTs with AWS STS `GetWebIdentityToken`,
//! caches and refreshes them, and hands them out as SASL/OAUTHBEARER tokens.
//!
//! ```no_run
//! let provider = kafka_iam_oauth::Provider::new("region=eu-west-1,audience=my-kafka.example.com", "")?;
//! let token = provider.token()?;
//! println!("{} until {:?}", token.principal(), token.expires_at());
//! # Ok::<(), kafka_iam_oauth::Error>(())
//! ```

#![deny(unsafe_op_in_unsafe_fn)]

mod cache;
pub mod config;
pub mod diagnose;
mod error;
mod jwt;
pub mod policy;
mod provider;
#[cfg(feature = "rdkafka")]
pub mod rdkafka;
mod runtime;
mod sts;
mod token;

#[doc(hidden)]
pub use cache::testing;
pub use config::Config;
pub use error::{catch_panic, Error, ErrorKind, Result, PANIC_MESSAGE};
pub use provider::{Provider, Stats, DEFAULT_TIMEOUT};
pub use token::Token;

/// Entry points for the fuzz targets in `fuzz/` (not part of the API).
#[doc(hidden)]
pub mod fuzzing {
    /// The claim decoding every token from STS goes through.
    pub use crate::jwt::{decode_claims, string_claim};
}

/// This library's version (from Cargo.toml).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

//! The one error type every front door (C, Python, Go, Rust) maps from.
//!
//! Messages never contain a token, a secret key or a session token: they are
//! built from config keys, AWS error codes and our own advice text only.

use std::fmt;

/// What kind of failure this is; each front door maps it to its own
/// status code or exception class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// An argument was NULL, not UTF-8 or too long (C boundary).
    InvalidArgument,
    /// The configuration string is invalid; the message names the key.
    Config,
    /// No AWS credentials could be found or used.
    Credentials,
    /// AWS STS answered with an error (see [`Error::aws_code`]).
    Sts,
    /// No token could be had in time.
    Timeout,
    /// A bug: a panic was caught or an invariant broke.
    Internal,
}

/// An error with a message a user can act on.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    aws_code: Option<String>,
    retryable: bool,
}

impl Error {
    /// A new error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            aws_code: None,
            retryable: false,
        }
    }

    /// A configuration error.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }

    /// An error from STS with its AWS error code (as AWS sent it).
    pub fn sts(code: impl Into<String>, message: impl Into<String>) -> Self {
        Error {
            kind: ErrorKind::Sts,
            message: message.into(),
            aws_code: Some(code.into()),
            retryable: false,
        }
    }

    pub(crate) fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    /// The kind of failure.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The human-readable message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The AWS error code (e.g. `AccessDenied`), for STS errors.
    pub fn aws_code(&self) -> Option<&str> {
        self.aws_code.as_deref()
    }

    /// Whether trying again later may succeed (throttling, 5xx, timeouts).
    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("aws_code", &self.aws_code)
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

/// Shorthand used across the crate.
pub type Result<T> = std::result::Result<T, Error>;

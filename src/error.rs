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

    /// The error a panic caught at a front door's boundary becomes
    /// ([`catch_panic`]): kind [`ErrorKind::Internal`], fixed text
    /// [`PANIC_MESSAGE`].
    pub fn panicked() -> Self {
        Self::new(ErrorKind::Internal, PANIC_MESSAGE)
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

/// The message of [`Error::panicked`]. Fixed text on purpose: a panic's
/// own text may quote anything (a token, a key), and a user can act on
/// none of it.
pub const PANIC_MESSAGE: &str = "internal error (a panic was caught); please report it";

/// Runs `f` and turns a panic into [`Error::panicked`], for the front
/// doors whose callers cannot take an unwinding Rust panic (a JNI method,
/// an N-API function): they map the error like any other.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        // Dropping a payload can itself panic; forget it instead.
        std::mem::forget(payload);
        Error::panicked()
    })
}

/// Longest excerpt of a credential_process's output kept in an error.
pub(crate) const MAX_PROCESS_EXCERPT: usize = 200;
/// Longest text from elsewhere (an AWS error message, the SDK's error
/// chain) kept in an error.
pub(crate) const MAX_FOREIGN_TEXT: usize = 512;
/// What a redacted secret becomes.
pub(crate) const REDACTED: &str = "<redacted>";

/// Foreign text (a process's stderr, an AWS message, an SDK error chain)
/// made fit for an error message or a log line: its first non-empty line,
/// with anything that looks like a secret replaced by `<redacted>` (see
/// [`redact`]), cut to `max` characters. Redaction comes first, so a cut
/// never leaves an unrecognisable part of a secret behind.
pub(crate) fn excerpt(text: &str, max: usize) -> String {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(first) = lines.next() else {
        return String::new();
    };
    let more = lines.next().is_some();
    let clean: String = redact(first)
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let mut out: String = clean.chars().take(max).collect();
    if more || clean.chars().count() > max {
        out.push_str(" …");
    }
    out
}

/// Key names whose value is a secret (`aws_secret_access_key=...`,
/// `"SessionToken": "..."`, `AWS_SESSION_TOKEN=...`, `password: ...`),
/// matched case-insensitively inside the key.
const SECRET_KEY_WORDS: &[&str] = &["secret", "token", "password", "passwd", "signature"];
/// Prefixes of AWS access key ids (`AKIA...` long-term, `ASIA...` session,
/// and the other unique-id kinds).
const KEY_ID_PREFIXES: &[&str] = &[
    "AKIA", "ASIA", "AIDA", "AROA", "AGPA", "ANPA", "ANVA", "AIPA", "ABIA", "ACCA", "APKA", "ASCA",
];

/// Replaces what looks like a secret in `text` with `<redacted>`:
/// - the value after a key whose name contains `secret`, `token`,
///   `password`, `passwd` or `signature` and `=` or `:`;
/// - AWS access key ids (`AKIA`/`ASIA`/... and 12 or more upper-case
///   letters and digits);
/// - runs of 32 or more base64 characters (`A-Za-z0-9+/=`) that mix
///   letters and digits, or both cases with `/` or `+` (secret access
///   keys are 40, session tokens hundreds; CamelCase words are kept).
///
/// It errs on the side of hiding: a long mixed-case word is hidden too.
pub(crate) fn redact(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let is_key_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    let is_value_end = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | ',' | ';' | '{' | '}' | '[' | ']' | '(' | ')' | '<' | '>' | '`'
            )
    };
    while i < chars.len() {
        let c = chars[i];
        if is_b64(c) {
            // A run of base64 characters: a key id, a secret, or a word
            // (possibly a key name followed by `=value`).
            let start = i;
            while i < chars.len() && is_b64(chars[i]) {
                i += 1;
            }
            let run: String = chars[start..i].iter().collect();
            out.push_str(&redact_run(&run));
            continue;
        }
        if is_key_char(c) {
            i += 1;
            out.push(c);
            continue;
        }
        out.push(c);
        i += 1;
    }
    // Second pass: values of secret-named keys, on the text as it now is.
    let chars: Vec<char> = out.chars().collect();
    let mut result = String::with_capacity(out.len());
    let mut i = 0;
    while i < chars.len() {
        if !is_key_char(chars[i]) {
            result.push(chars[i]);
            i += 1;
            continue;
        }
        let start = i;
        while i < chars.len() && is_key_char(chars[i]) {
            i += 1;
        }
        let key: String = chars[start..i].iter().collect();
        result.push_str(&key);
        let lower = key.to_ascii_lowercase();
        if !SECRET_KEY_WORDS.iter().any(|w| lower.contains(w)) {
            continue;
        }
        // `key`, optional quotes and spaces, then '=' or ':'.
        let mut j = i;
        while j < chars.len() && matches!(chars[j], '"' | '\'' | ' ' | '\t') {
            j += 1;
        }
        if j >= chars.len() || !matches!(chars[j], '=' | ':') {
            continue;
        }
        j += 1;
        while j < chars.len() && matches!(chars[j], '"' | '\'' | ' ' | '\t') {
            j += 1;
        }
        let value_start = j;
        while j < chars.len() && !is_value_end(chars[j]) {
            j += 1;
        }
        if j > value_start {
            result.extend(&chars[i..value_start]);
            result.push_str(REDACTED);
            i = j;
        }
    }
    result
}

/// One run of base64 characters: `name=value` is checked part by part
/// (so `key=<redacted>` keeps its name), anything else whole.
fn redact_run(run: &str) -> String {
    if let Some((name, value)) = run.split_once('=') {
        if !name.is_empty() && !looks_secret(name) {
            let value = if looks_secret(value.trim_end_matches('=')) {
                REDACTED
            } else {
                value
            };
            return format!("{name}={value}");
        }
    }
    if looks_secret(run) {
        REDACTED.to_string()
    } else {
        run.to_string()
    }
}

fn looks_secret(s: &str) -> bool {
    let is_key_id = |p: &str| {
        p.len() >= 16
            && KEY_ID_PREFIXES.iter().any(|k| p.starts_with(k))
            && p.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    };
    let upper = s.chars().any(|c| c.is_ascii_uppercase()) as u8;
    let lower = s.chars().any(|c| c.is_ascii_lowercase()) as u8;
    let digit = s.chars().any(|c| c.is_ascii_digit()) as u8;
    let slash_or_plus = (s.contains('/') || s.contains('+')) as u8;
    // Mixed letters and digits, or mixed case with base64's '/' or '+':
    // AWS secrets and tokens are; CamelCase error codes are not.
    let secret = s.chars().count() >= 32
        && ((digit == 1 && upper + lower >= 1) || (slash_or_plus == 1 && upper + lower == 2));
    secret || s.split(['/', '+', '=']).any(is_key_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_panic_is_an_internal_error_with_fixed_text() {
        assert_eq!(catch_panic(|| 7).unwrap(), 7);
        let e = catch_panic(|| -> u8 { panic!("token eyJhbGciOiJSUzI1NiJ9.secret") }).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_eq!(e.message(), PANIC_MESSAGE);
        assert!(!format!("{e:?}").contains("eyJ"));
        let e = catch_panic(|| std::panic::panic_any(42u32)).unwrap_err();
        assert_eq!(e, Error::panicked());
    }

    const KEY_ID: &str = "AKIAFAKESECRETFAKE12";
    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYFAKESECRET";

    #[test]
    fn redact_hides_key_ids_secrets_and_secret_named_values() {
        for text in [
            format!("+ export AWS_ACCESS_KEY_ID={KEY_ID}"),
            format!("aws_secret_access_key={SECRET}"),
            format!("aws_secret_access_key = {SECRET}"),
            format!("{{\"AccessKeyId\": \"{KEY_ID}\", \"SecretAccessKey\": \"{SECRET}\"}}"),
            format!("error: bad key {KEY_ID} with secret {SECRET} (exit 1)"),
            format!("AWS_SESSION_TOKEN=short-token-value {SECRET}x"),
            "SessionToken: IQoJb3JpZ2luX2VjEJr//////////wEaCXVzLWVhc3QtMSJHMEUCIQ".to_string(),
            format!("password=hunter2 and {KEY_ID}/20250101/eu-west-1/sts/aws4_request"),
        ] {
            let r = redact(&text);
            for secret in [
                KEY_ID,
                SECRET,
                "short-token-value",
                "IQoJb3JpZ2luX2V",
                "hunter2",
            ] {
                assert!(!r.contains(secret), "{text:?} -> {r:?}");
            }
            assert!(r.contains(REDACTED), "{r}");
        }
    }

    #[test]
    fn redact_keeps_ordinary_text() {
        for text in [
            "credential_process of profile \"hang\" failed (exit status 1): no such file",
            "/usr/local/bin/aws-vault-helper --profile payments-prod",
            "GetWebIdentityToken failed: AccessDenied: User: arn:aws:iam::123456789012:user/x is not authorized",
            "token_lifetime 300 s",
            "SessionDurationEscalationException: OutboundWebIdentityFederationDisabledException",
        ] {
            assert_eq!(redact(text), text);
        }
    }

    #[test]
    fn excerpt_is_the_first_line_bounded_and_redacted() {
        let stderr = format!("\n  first {SECRET} line\nsecond line {KEY_ID}\n");
        let e = excerpt(&stderr, MAX_PROCESS_EXCERPT);
        assert_eq!(e, format!("first {REDACTED} line …"));
        let long = "x".repeat(1000);
        let e = excerpt(&long, MAX_PROCESS_EXCERPT);
        assert_eq!(e.chars().count(), MAX_PROCESS_EXCERPT + 2);
        assert_eq!(excerpt(" \n\t\n", 10), "");
        // A secret longer than the cut is still recognised (redacted first).
        let e = excerpt(&format!("{}{SECRET}", "y ".repeat(95)), MAX_PROCESS_EXCERPT);
        assert!(!e.contains("wJalrXUtnFEMI"), "{e}");
    }
}

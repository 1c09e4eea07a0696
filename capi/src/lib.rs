//! The C ABI (`kafka_iam_oauth_*`) and the librdkafka integration, over
//! the core crate's public API.
//!
//! Every `extern "C"` function here, the exports and the callbacks
//! librdkafka calls alike, goes through [`ffi::boundary`]: panics are
//! caught, pointers checked, and failures come back as the value each
//! function documents; errors come from the call that failed, as an owned
//! `kafka_iam_oauth_error`, never through thread-local state. Handles are
//! converted with the [`ffi::Castable`] traits, never with ad-hoc casts.
//!
//! The header `include/kafka_iam_oauth.h` is generated from this crate by
//! cbindgen (`make header`).

#![allow(non_camel_case_types)]
// Each export's doc comment states its C contract (who owns what, what may
// be NULL); that is the safety contract, and it is what the header shows.
#![allow(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]

mod ffi;
mod librdkafka;
mod rdkafka;
pub use rdkafka::{
    kafka_iam_oauth_rdkafka_conf_init_raw, kafka_iam_oauth_rdkafka_enable_background_callbacks_raw,
    kafka_iam_oauth_rdkafka_refresh_cb_raw, plugin_conf_init,
};

use ffi::{boundary, read_str, ArcHandle, BoxHandle, Castable, Or, Out, Report};
use kafka_iam_oauth::{policy, Error, ErrorKind, Provider, Token};
use std::ffi::{c_char, CStr, CString};
use std::ptr;
use std::time::{Duration, UNIX_EPOCH};

/// How long a call waits for STS by default when no token is cached, in
/// milliseconds: what `timeout_ms` 0 means, and the wait of every token
/// refresh the librdkafka integration answers.
pub const KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS: u32 = 8000;

// The header constant is a literal (cbindgen cannot evaluate the core's
// Duration); this keeps it equal to the core's default at compile time.
const _: () = assert!(
    kafka_iam_oauth::DEFAULT_TIMEOUT.as_millis() == KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS as u128
);

/// Status of a call. `KAFKA_IAM_OAUTH_OK` is 0; errors start at 7001 so they
/// are not mistaken for errno or librdkafka codes.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum kafka_iam_oauth_status {
    /// Success; the out-parameters were written.
    KAFKA_IAM_OAUTH_OK = 0,
    /// A pointer was NULL, a string not UTF-8 or longer than 65536 bytes.
    KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT = 7001,
    /// The configuration string is invalid (the message names the key).
    KAFKA_IAM_OAUTH_ERR_CONFIG = 7002,
    /// No usable AWS credentials.
    KAFKA_IAM_OAUTH_ERR_CREDENTIALS = 7003,
    /// AWS STS returned an error (see `kafka_iam_oauth_error_aws_code`).
    KAFKA_IAM_OAUTH_ERR_STS = 7004,
    /// No token within the timeout.
    KAFKA_IAM_OAUTH_ERR_TIMEOUT = 7005,
    /// A bug in this library (a caught panic); please report it.
    KAFKA_IAM_OAUTH_ERR_INTERNAL = 7006,
}

use kafka_iam_oauth_status::*;

impl From<ErrorKind> for kafka_iam_oauth_status {
    fn from(kind: ErrorKind) -> Self {
        match kind {
            ErrorKind::InvalidArgument => KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT,
            ErrorKind::Config => KAFKA_IAM_OAUTH_ERR_CONFIG,
            ErrorKind::Credentials => KAFKA_IAM_OAUTH_ERR_CREDENTIALS,
            ErrorKind::Sts => KAFKA_IAM_OAUTH_ERR_STS,
            ErrorKind::Timeout => KAFKA_IAM_OAUTH_ERR_TIMEOUT,
            ErrorKind::Internal => KAFKA_IAM_OAUTH_ERR_INTERNAL,
        }
    }
}

/// A token provider for one configuration. Thread-safe: share one handle
/// between threads and clients. Providers with the same effective
/// configuration share one process-wide token cache.
pub struct kafka_iam_oauth_provider {
    _private: [u8; 0],
}

/// One token: immutable, safe to read from any thread until freed with
/// `kafka_iam_oauth_token_free`.
pub struct kafka_iam_oauth_token {
    _private: [u8; 0],
}

/// An error: status, message and (for STS errors) the AWS error code.
/// Owned by the caller; free it with `kafka_iam_oauth_error_free`.
pub struct kafka_iam_oauth_error {
    _private: [u8; 0],
}

impl ffi::LastResort for kafka_iam_oauth_status {
    fn last_resort() -> Self {
        KAFKA_IAM_OAUTH_ERR_INTERNAL
    }
}

/// What a `kafka_iam_oauth_error` handle owns.
struct ErrorObject {
    status: kafka_iam_oauth_status,
    message: CString,
    aws_code: Option<CString>,
    retryable: bool,
}

// SAFETY: the handle types are opaque markers; their pointers are made only
// by the `into_c` of the traits below with the `Rust` type named here.
unsafe impl Castable for kafka_iam_oauth_provider {
    type Rust = Provider;
}
impl BoxHandle for kafka_iam_oauth_provider {}
// SAFETY: as above.
unsafe impl Castable for kafka_iam_oauth_token {
    type Rust = Token;
}
impl ArcHandle for kafka_iam_oauth_token {}
// SAFETY: as above.
unsafe impl Castable for kafka_iam_oauth_error {
    type Rust = ErrorObject;
}
impl BoxHandle for kafka_iam_oauth_error {}

fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

/// For status-returning calls: `KAFKA_IAM_OAUTH_OK`, or the error's status
/// plus, when `error_out` is not NULL, an owned error object in `*error_out`.
struct StatusOut(*mut *mut kafka_iam_oauth_error);

impl Report<(), Error> for StatusOut {
    type Output = kafka_iam_oauth_status;
    fn ok(self, _: ()) -> kafka_iam_oauth_status {
        KAFKA_IAM_OAUTH_OK
    }
    fn fail(self, err: Error) -> kafka_iam_oauth_status {
        let status = kafka_iam_oauth_status::from(err.kind());
        if !self.0.is_null() {
            let obj = kafka_iam_oauth_error::into_c(ErrorObject {
                status,
                message: to_cstring(err.message()),
                aws_code: err.aws_code().map(to_cstring),
                retryable: err.is_retryable(),
            });
            // SAFETY: the caller promised `error_out` is NULL or writable.
            unsafe { *self.0 = obj };
        }
        status
    }
    fn panicked(self) -> kafka_iam_oauth_status {
        // Where errors are objects, a caught panic is the core's.
        self.fail(Error::panicked())
    }
    fn last_resort() -> kafka_iam_oauth_status {
        KAFKA_IAM_OAUTH_ERR_INTERNAL
    }
}

/// Creates a provider from a `sasl.oauthbearer.config` string and an optional
/// `sasl.oauthbearer.extensions` string (NULL or "" for none). Validates the
/// whole configuration now; makes no network call and does not block.
///
/// Strings are NUL-terminated UTF-8, at most 65536 bytes, borrowed for the
/// call only. On success `*provider_out` receives a provider the caller owns
/// (free it with `kafka_iam_oauth_provider_free`). On failure nothing is
/// written to `provider_out` and, if `error_out` is not NULL, `*error_out`
/// receives an error the caller frees with `kafka_iam_oauth_error_free`.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_new(
    config: *const c_char,
    extensions: *const c_char,
    provider_out: *mut *mut kafka_iam_oauth_provider,
    error_out: *mut *mut kafka_iam_oauth_error,
) -> kafka_iam_oauth_status {
    boundary(StatusOut(error_out), || {
        // SAFETY: per this function's contract (all three below).
        let out = unsafe { Out::new(provider_out, "provider_out") }?;
        let config = unsafe { read_str(config, "config") }?;
        let extensions = if extensions.is_null() {
            ""
        } else {
            unsafe { read_str(extensions, "extensions") }?
        };
        let provider = Provider::new(config, extensions)?;
        out.write(kafka_iam_oauth_provider::into_c(provider));
        Ok(())
    })
}

/// Frees a provider. NULL is a no-op. Tokens already obtained stay valid;
/// the shared cache lives on for other providers of the same configuration.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_free(provider: *mut kafka_iam_oauth_provider) {
    boundary(Or(()), || -> Result<(), Error> {
        // SAFETY: NULL or a handle from `kafka_iam_oauth_provider_new`.
        unsafe { kafka_iam_oauth_provider::free(provider) };
        Ok(())
    })
}

/// Gets the current token. Returns at once (no network, no lock) when a
/// token with a useful lifetime is cached, which is always the case after
/// the first one while the provider is in use; otherwise may block up to
/// `timeout_ms` milliseconds (0 = `KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS`)
/// waiting for STS.
///
/// On success `*token_out` receives a token the caller owns and frees with
/// `kafka_iam_oauth_token_free`. On failure nothing is written to
/// `token_out` and `*error_out` (if not NULL) receives an owned error.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_token(
    provider: *const kafka_iam_oauth_provider,
    timeout_ms: u32,
    token_out: *mut *const kafka_iam_oauth_token,
    error_out: *mut *mut kafka_iam_oauth_error,
) -> kafka_iam_oauth_status {
    boundary(StatusOut(error_out), || {
        // SAFETY: per this function's contract (both below).
        let provider = unsafe { kafka_iam_oauth_provider::try_ref(provider, "provider") }?;
        let out = unsafe { Out::new(token_out, "token_out") }?;
        let token = if timeout_ms == 0 {
            provider.token()?
        } else {
            provider.token_timeout(Duration::from_millis(timeout_ms.into()))?
        };
        out.write(kafka_iam_oauth_token::into_c(token));
        Ok(())
    })
}

/// The cached token, if one with a useful lifetime is cached; never blocks,
/// never calls STS, takes no lock. Returns a token the caller owns and frees
/// with `kafka_iam_oauth_token_free`, or NULL when none is cached (or
/// `provider` is NULL): then `kafka_iam_oauth_provider_token` gets one.
///
/// Taking the cached token counts as use, so the library keeps refreshing
/// it ahead of expiry.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_cached_token(
    provider: *const kafka_iam_oauth_provider,
) -> *const kafka_iam_oauth_token {
    boundary(Or(ptr::null()), || {
        // SAFETY: NULL or a handle from `kafka_iam_oauth_provider_new`.
        let provider = unsafe { kafka_iam_oauth_provider::try_ref(provider, "provider") }?;
        Ok(provider
            .cached_token()
            .map_or(ptr::null(), kafka_iam_oauth_token::into_c))
    })
}

/// How many tokens STS has minted for the provider's shared cache entry in
/// this process (for tests and monitoring). 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_mint_count(
    provider: *const kafka_iam_oauth_provider,
) -> u64 {
    boundary(Or(0), || {
        // SAFETY: NULL or a handle from `kafka_iam_oauth_provider_new`.
        Ok(unsafe { kafka_iam_oauth_provider::try_ref(provider, "provider") }?.mint_count())
    })
}

/// A snapshot of a provider's shared cache entry, for tests and monitoring
/// (`kafka_iam_oauth_provider_stats`). Plain data, owned by the caller.
/// Durations are milliseconds; -1 means "none".
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct kafka_iam_oauth_stats {
    /// Tokens STS minted for the entry in this process.
    pub mints: u64,
    /// Mints that failed (one per failed mint, whatever its retries).
    pub failures: u64,
    /// The status of the most recent failure (kept after later successes),
    /// or `KAFKA_IAM_OAUTH_OK` (0) if no mint has failed.
    pub last_error: kafka_iam_oauth_status,
    /// Milliseconds until the cached token expires (0 if it has), -1 when
    /// no token is cached.
    pub expires_in_ms: i64,
    /// Milliseconds until the background refresh of the cached token is due
    /// (0 if due now), -1 when no token is cached.
    pub refresh_in_ms: i64,
    /// After a failure, milliseconds until STS is asked again (callers get
    /// the remembered error until then), -1 when no failure is remembered.
    pub next_attempt_in_ms: i64,
}

impl From<kafka_iam_oauth::Stats> for kafka_iam_oauth_stats {
    fn from(s: kafka_iam_oauth::Stats) -> Self {
        let ms = |d: Option<Duration>| {
            d.map_or(-1, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        };
        kafka_iam_oauth_stats {
            mints: s.mints,
            failures: s.failures,
            last_error: s.last_error_kind.map_or(KAFKA_IAM_OAUTH_OK, Into::into),
            expires_in_ms: ms(s.expires_in),
            refresh_in_ms: ms(s.refresh_in),
            next_attempt_in_ms: ms(s.next_attempt_in),
        }
    }
}

/// Fills `*out` with a snapshot of the provider's shared cache entry
/// (`kafka_iam_oauth_stats`). Never blocks, never calls STS, takes no
/// lock, does not count as use. Returns `KAFKA_IAM_OAUTH_OK`, or
/// `KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT` when `provider` or `out` is NULL
/// (then nothing is written). `out` is the caller's memory, written only on
/// success.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_stats(
    provider: *const kafka_iam_oauth_provider,
    out: *mut kafka_iam_oauth_stats,
) -> kafka_iam_oauth_status {
    boundary(StatusOut(ptr::null_mut()), || {
        // SAFETY: per this function's contract (both below).
        let provider = unsafe { kafka_iam_oauth_provider::try_ref(provider, "provider") }?;
        let out = unsafe { Out::new(out, "out") }?;
        out.write(provider.stats().into());
        Ok(())
    })
}

/// The JWT, NUL-terminated; a secret: never log it. Borrowed from the token
/// (valid until `kafka_iam_oauth_token_free`). NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_value(
    token: *const kafka_iam_oauth_token,
) -> *const c_char {
    boundary(Or(ptr::null()), || {
        // SAFETY: NULL or a live token handle.
        Ok(unsafe { kafka_iam_oauth_token::try_ref(token, "token") }?
            .value_cstr()
            .as_ptr())
    })
}

/// Expiry as milliseconds since the Unix epoch (librdkafka's
/// `md_lifetime_ms`). 0 for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_lifetime_ms(
    token: *const kafka_iam_oauth_token,
) -> i64 {
    boundary(Or(0), || {
        // SAFETY: NULL or a live token handle.
        Ok(unsafe { kafka_iam_oauth_token::try_ref(token, "token") }?.lifetime_ms())
    })
}

/// When the library refreshes this token in the background (while it is
/// in use), as milliseconds since the Unix epoch: between the token's mint
/// and its expiry. Code that hands tokens to clients itself looks for a new
/// one from then on (`kafka_iam_oauth_provider_cached_token`), instead of
/// guessing a fraction of the lifetime. 0 for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_refresh_at_ms(
    token: *const kafka_iam_oauth_token,
) -> i64 {
    boundary(Or(0), || {
        // SAFETY: NULL or a live token handle.
        let token = unsafe { kafka_iam_oauth_token::try_ref(token, "token") }?;
        let since_epoch = token
            .refresh_at()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Ok(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    })
}

/// The principal name (the configured claim, `sub` by default: the IAM ARN),
/// NUL-terminated, borrowed from the token. NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_principal(
    token: *const kafka_iam_oauth_token,
) -> *const c_char {
    boundary(Or(ptr::null()), || {
        // SAFETY: NULL or a live token handle.
        Ok(unsafe { kafka_iam_oauth_token::try_ref(token, "token") }?
            .principal_cstr()
            .as_ptr())
    })
}

/// SASL extensions as a flat array `key0, value0, key1, value1, ...` of
/// NUL-terminated strings, the shape `rd_kafka_oauthbearer_set_token` takes.
/// `*count_out` (if not NULL) receives the number of strings (even). The
/// array and strings are borrowed from the token. Returns NULL (count 0)
/// when there are none or the token is NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_extensions(
    token: *const kafka_iam_oauth_token,
    count_out: *mut usize,
) -> *const *const c_char {
    boundary(Or(ptr::null()), || {
        // SAFETY: NULL or a live token handle.
        let ptrs = unsafe { kafka_iam_oauth_token::try_ref(token, "token") }
            .map_or(&[][..], |t| t.extension_ptrs());
        // SAFETY: NULL or writable (this function's contract).
        if let Ok(count) = unsafe { Out::new(count_out, "count_out") } {
            count.write(ptrs.len());
        }
        Ok(if ptrs.is_empty() {
            ptr::null()
        } else {
            ptrs.as_ptr()
        })
    })
}

/// Frees a token (zeroing the JWT once no one else holds it). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_free(token: *const kafka_iam_oauth_token) {
    boundary(Or(()), || -> Result<(), Error> {
        // SAFETY: NULL or a handle from `_provider_token` / `_cached_token`.
        unsafe { kafka_iam_oauth_token::free(token) };
        Ok(())
    })
}

/// The error's status code. `KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_status(
    error: *const kafka_iam_oauth_error,
) -> kafka_iam_oauth_status {
    boundary(Or(KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT), || {
        // SAFETY: NULL or a live error handle.
        Ok(unsafe { kafka_iam_oauth_error::try_ref(error, "error") }?.status)
    })
}

/// What `kafka_iam_oauth_error_message(NULL)` returns.
static NULL_ERROR: &CStr = c"NULL error";

/// The error message, NUL-terminated UTF-8, borrowed from the error (valid
/// until `kafka_iam_oauth_error_free`). Never contains a token or secret.
/// A static "NULL error" string for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_message(
    error: *const kafka_iam_oauth_error,
) -> *const c_char {
    boundary(Or(NULL_ERROR.as_ptr()), || {
        // SAFETY: NULL or a live error handle.
        Ok(unsafe { kafka_iam_oauth_error::try_ref(error, "error") }?
            .message
            .as_ptr())
    })
}

/// The AWS error code for STS errors (e.g. "AccessDenied"), NUL-terminated,
/// borrowed from the error; NULL when there is none or `error` is NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_aws_code(
    error: *const kafka_iam_oauth_error,
) -> *const c_char {
    boundary(Or(ptr::null()), || {
        // SAFETY: NULL or a live error handle.
        let e = unsafe { kafka_iam_oauth_error::try_ref(error, "error") }?;
        Ok(e.aws_code.as_ref().map_or(ptr::null(), |c| c.as_ptr()))
    })
}

/// Whether trying again later may succeed (throttling, STS 5xx, a timeout,
/// an unreachable endpoint); false for configuration, credential and
/// permission errors, which need a change first, and for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_retryable(
    error: *const kafka_iam_oauth_error,
) -> bool {
    boundary(Or(false), || {
        // SAFETY: NULL or a live error handle.
        Ok(unsafe { kafka_iam_oauth_error::try_ref(error, "error") }?.retryable)
    })
}

/// Frees an error. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_free(error: *mut kafka_iam_oauth_error) {
    boundary(Or(()), || -> Result<(), Error> {
        // SAFETY: NULL or a handle written to an `error_out`.
        unsafe { kafka_iam_oauth_error::free(error) };
        Ok(())
    })
}

/// How long to wait before retry number `attempt` (0 = the first retry)
/// after a failed `kafka_iam_oauth_provider_token`, in milliseconds: the
/// library's own backoff for background refreshes (exponential, from 250-500
/// ms up to 15-30 s, with jitter), for code that retries on its own (a C
/// program, the Go pusher) instead of inventing a schedule. Each call draws
/// its own jitter; never blocks.
#[no_mangle]
pub extern "C" fn kafka_iam_oauth_retry_delay_ms(attempt: u32) -> u32 {
    boundary(Or(0), || {
        let random = jitter();
        let delay = policy::retry_delay(attempt, policy::REFRESH_BACKOFF, random);
        Ok(u32::try_from(delay.as_millis()).unwrap_or(u32::MAX))
    })
}

/// A number in [0, 1) for backoff jitter, different on each call (std's
/// randomly keyed hasher: jitter needs spread, not secrecy).
fn jitter() -> f64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos(),
    );
    (h.finish() >> 11) as f64 / (1u64 << 53) as f64
}

/// What `kafka_iam_oauth_version()` returns.
static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version ("MAJOR.MINOR.PATCH"), a static NUL-terminated
/// string (never freed); equals the header's `KAFKA_IAM_OAUTH_VERSION`.
#[no_mangle]
pub extern "C" fn kafka_iam_oauth_version() -> *const c_char {
    boundary(Or(ptr::null()), || -> Result<_, Error> {
        Ok(VERSION.as_ptr().cast())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_matches_the_crate() {
        // SAFETY: a static NUL-terminated string.
        let v = unsafe { CStr::from_ptr(kafka_iam_oauth_version()) };
        assert_eq!(v.to_str().unwrap(), kafka_iam_oauth::VERSION);
    }

    #[test]
    fn retry_delay_is_the_library_backoff() {
        let first = policy::REFRESH_BACKOFF.first.as_millis() as u32;
        let max = policy::REFRESH_BACKOFF.max.as_millis() as u32;
        for _ in 0..100 {
            let d = kafka_iam_oauth_retry_delay_ms(0);
            assert!(d >= first / 2 && d <= first, "{d}");
            let d = kafka_iam_oauth_retry_delay_ms(u32::MAX);
            assert!(d >= max / 2 && d <= max, "{d}");
        }
    }

    #[test]
    fn stats_map_none_to_minus_one_and_kinds_to_statuses() {
        let none = kafka_iam_oauth_stats::from(kafka_iam_oauth::Stats::default());
        assert_eq!(
            none,
            kafka_iam_oauth_stats {
                mints: 0,
                failures: 0,
                last_error: KAFKA_IAM_OAUTH_OK,
                expires_in_ms: -1,
                refresh_in_ms: -1,
                next_attempt_in_ms: -1,
            }
        );
        let some = kafka_iam_oauth_stats::from(kafka_iam_oauth::Stats {
            mints: 3,
            failures: 2,
            last_error_kind: Some(ErrorKind::Timeout),
            expires_in: Some(Duration::from_millis(1500)),
            refresh_in: Some(Duration::ZERO),
            next_attempt_in: Some(Duration::MAX),
        });
        assert_eq!(
            (some.mints, some.failures, some.last_error),
            (3, 2, KAFKA_IAM_OAUTH_ERR_TIMEOUT)
        );
        assert_eq!(
            (
                some.expires_in_ms,
                some.refresh_in_ms,
                some.next_attempt_in_ms
            ),
            (1500, 0, i64::MAX)
        );
        let mut out = none;
        // SAFETY: NULL provider; `out` is writable.
        let st = unsafe { kafka_iam_oauth_provider_stats(ptr::null(), &mut out) };
        assert_eq!((st, out), (KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, none));
    }

    #[test]
    fn header_default_timeout_is_the_core_default() {
        assert_eq!(
            Duration::from_millis(KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS.into()),
            kafka_iam_oauth::DEFAULT_TIMEOUT
        );
    }

    /// Every `extern "C"` function defined in this crate (and the shared
    /// library's `conf_init`) passes its body to `boundary`, or forwards to
    /// a function that does.
    #[test]
    fn every_extern_c_function_goes_through_the_boundary() {
        let sources = [
            ("lib.rs", include_str!("lib.rs")),
            ("rdkafka.rs", include_str!("rdkafka.rs")),
            ("ffi.rs", include_str!("ffi.rs")),
            ("librdkafka.rs", include_str!("librdkafka.rs")),
            ("../shared/lib.rs", include_str!("../shared/lib.rs")),
        ];
        let mut checked = 0;
        for (file, src) in sources {
            let mut rest = src;
            while let Some(i) = rest.find("extern \"C\" fn ") {
                let after = &rest[i + "extern \"C\" fn ".len()..];
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                let body_start = after.find('{').expect("a body");
                let body = after[body_start + 1..].trim_start();
                // Skip comments before the first statement.
                let first = body
                    .lines()
                    .map(str::trim)
                    .find(|l| !l.starts_with("//"))
                    .unwrap_or("");
                let forwards =
                    first.starts_with("unsafe { kafka_iam_oauth_capi::plugin_conf_init(");
                assert!(
                    first.starts_with("boundary(") || forwards,
                    "{file}: extern \"C\" fn {name} does not start with boundary(: {first}"
                );
                checked += 1;
                rest = &after[body_start..];
            }
        }
        assert!(checked >= 25, "only {checked} functions found");
    }
}

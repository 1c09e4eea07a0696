//! The C ABI. Every export goes through [`boundary`] (status-returning
//! calls) or [`guard`] (accessors): panics are caught, pointers checked, and
//! errors come back from the call that failed as an owned
//! `kafka_iam_oauth_error`, never through thread-local state.
//!
//! The header `include/kafka_iam_oauth.h` is generated from this file by
//! cbindgen (`make header`).

#![allow(non_camel_case_types)]
#![deny(unsafe_op_in_unsafe_fn)]

mod plugin;
pub use plugin::plugin_conf_init;

use kafka_iam_oauth::config::MAX_INPUT_LEN;
use kafka_iam_oauth::{Error, ErrorKind, Provider, Token};
use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::Arc;
use std::time::Duration;

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

struct ErrorObject {
    status: kafka_iam_oauth_status,
    message: CString,
    aws_code: Option<CString>,
}

fn to_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\\0")).unwrap_or_default()
}

fn invalid(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// Runs `f` for a status-returning export: catches panics and turns errors
/// into a status plus, if `error_out` is not NULL, an owned error object.
fn boundary<F>(error_out: *mut *mut kafka_iam_oauth_error, f: F) -> kafka_iam_oauth_status
where
    F: FnOnce() -> Result<(), Error>,
{
    let err = match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => return KAFKA_IAM_OAUTH_OK,
        Ok(Err(e)) => e,
        Err(_) => Error::new(
            ErrorKind::Internal,
            "kafka-iam-oauth: internal error (a panic was caught); please report it",
        ),
    };
    let status = kafka_iam_oauth_status::from(err.kind());
    if !error_out.is_null() {
        let obj = Box::new(ErrorObject {
            status,
            message: to_cstring(err.message()),
            aws_code: err.aws_code().map(to_cstring),
        });
        // SAFETY: caller promised `error_out` is NULL or writable.
        unsafe { *error_out = Box::into_raw(obj).cast() };
    }
    status
}

/// Runs an accessor; a panic yields `fallback` instead of unwinding into C.
fn guard<T>(fallback: T, f: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(fallback)
}

/// Reads a caller's NUL-terminated string: NULL, longer than
/// `MAX_INPUT_LEN` bytes or not UTF-8 is an error naming `what`.
///
/// # Safety
/// `p` is NULL or points to readable memory up to its NUL or `MAX_INPUT_LEN`+1 bytes.
unsafe fn read_str<'a>(p: *const c_char, what: &str) -> Result<&'a str, Error> {
    if p.is_null() {
        return Err(invalid(format!("{what} is NULL")));
    }
    // SAFETY: bounded scan, per the contract above.
    let len = unsafe { libc::strnlen(p, MAX_INPUT_LEN + 1) };
    if len > MAX_INPUT_LEN {
        return Err(invalid(format!(
            "{what} is longer than {MAX_INPUT_LEN} bytes"
        )));
    }
    // SAFETY: `len` bytes followed by a NUL are readable.
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        invalid(format!(
            "{what} is not valid UTF-8 (at byte {})",
            e.valid_up_to()
        ))
    })
}

fn provider_ref<'a>(p: *const kafka_iam_oauth_provider) -> Result<&'a Provider, Error> {
    // SAFETY: non-NULL handles come from `kafka_iam_oauth_provider_new`.
    unsafe { p.cast::<Provider>().as_ref() }.ok_or_else(|| invalid("provider is NULL"))
}

fn token_ref<'a>(t: *const kafka_iam_oauth_token) -> Option<&'a Token> {
    // SAFETY: non-NULL handles come from `kafka_iam_oauth_provider_token`.
    unsafe { t.cast::<Token>().as_ref() }
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
    boundary(error_out, || {
        if provider_out.is_null() {
            return Err(invalid("provider_out is NULL"));
        }
        // SAFETY: per this function's contract.
        let config = unsafe { read_str(config, "config") }?;
        let extensions = if extensions.is_null() {
            ""
        } else {
            // SAFETY: per this function's contract.
            unsafe { read_str(extensions, "extensions") }?
        };
        let provider = Provider::new(config, extensions)?;
        // SAFETY: checked non-NULL above.
        unsafe { *provider_out = Box::into_raw(Box::new(provider)).cast() };
        Ok(())
    })
}

/// Frees a provider. NULL is a no-op. Tokens already obtained stay valid;
/// the shared cache lives on for other providers of the same configuration.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_free(provider: *mut kafka_iam_oauth_provider) {
    guard((), || {
        if !provider.is_null() {
            // SAFETY: created by `Box::into_raw` in `kafka_iam_oauth_provider_new`.
            drop(unsafe { Box::from_raw(provider.cast::<Provider>()) });
        }
    })
}

/// Gets the current token. Returns at once (no network, no lock) when a
/// token with a useful lifetime is cached, which is always the case after
/// the first one while the provider is in use; otherwise may block up to
/// `timeout_ms` milliseconds (0 = the default, 8000) waiting for STS.
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
    boundary(error_out, || {
        let provider = provider_ref(provider)?;
        if token_out.is_null() {
            return Err(invalid("token_out is NULL"));
        }
        let token = match provider.cached_token() {
            Some(t) => t,
            None if timeout_ms == 0 => provider.token()?,
            None => provider.token_timeout(Duration::from_millis(timeout_ms.into()))?,
        };
        // SAFETY: checked non-NULL above.
        unsafe { *token_out = Arc::into_raw(token).cast() };
        Ok(())
    })
}

/// How many tokens STS has minted for the provider's shared cache entry in
/// this process (for tests and monitoring). 0 for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_provider_mint_count(
    provider: *const kafka_iam_oauth_provider,
) -> u64 {
    guard(0, || {
        provider_ref(provider).map(|p| p.mint_count()).unwrap_or(0)
    })
}

/// The JWT, NUL-terminated; a secret: never log it. Borrowed from the token
/// (valid until `kafka_iam_oauth_token_free`). NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_value(
    token: *const kafka_iam_oauth_token,
) -> *const c_char {
    guard(ptr::null(), || {
        token_ref(token).map_or(ptr::null(), |t| t.value_cstr().as_ptr())
    })
}

/// Expiry as milliseconds since the Unix epoch (librdkafka's
/// `md_lifetime_ms`). 0 for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_lifetime_ms(
    token: *const kafka_iam_oauth_token,
) -> i64 {
    guard(0, || token_ref(token).map_or(0, |t| t.lifetime_ms()))
}

/// The principal name (the configured claim, `sub` by default: the IAM ARN),
/// NUL-terminated, borrowed from the token. NULL for a NULL token.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_principal(
    token: *const kafka_iam_oauth_token,
) -> *const c_char {
    guard(ptr::null(), || {
        token_ref(token).map_or(ptr::null(), |t| t.principal_cstr().as_ptr())
    })
}

/// SASL extensions as a flat array `key0, value0, key1, value1, ...` of
/// NUL-terminated strings, the shape `rd_kafka_oauthbearer_set_token` takes.
/// `*count_out` receives the number of strings (even). The array and strings
/// are borrowed from the token. Returns NULL (count 0) when there are none or
/// the token is NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_extensions(
    token: *const kafka_iam_oauth_token,
    count_out: *mut usize,
) -> *const *const c_char {
    guard(ptr::null(), || {
        let ptrs = token_ref(token).map(|t| t.extension_ptrs()).unwrap_or(&[]);
        if !count_out.is_null() {
            // SAFETY: checked non-NULL; caller promised it is writable.
            unsafe { *count_out = ptrs.len() };
        }
        if ptrs.is_empty() {
            ptr::null()
        } else {
            ptrs.as_ptr()
        }
    })
}

/// Frees a token (zeroing the JWT once no one else holds it). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_token_free(token: *const kafka_iam_oauth_token) {
    guard((), || {
        if !token.is_null() {
            // SAFETY: created by `Arc::into_raw` in `kafka_iam_oauth_provider_token`.
            drop(unsafe { Arc::from_raw(token.cast::<Token>()) });
        }
    })
}

/// The error's status code. `KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT` for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_status(
    error: *const kafka_iam_oauth_error,
) -> kafka_iam_oauth_status {
    guard(KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, || {
        // SAFETY: non-NULL errors come from `boundary`.
        unsafe { error.cast::<ErrorObject>().as_ref() }
            .map_or(KAFKA_IAM_OAUTH_ERR_INVALID_ARGUMENT, |e| e.status)
    })
}

/// The error message, NUL-terminated UTF-8, borrowed from the error (valid
/// until `kafka_iam_oauth_error_free`). Never contains a token or secret.
/// A static "NULL error" string for NULL.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_message(
    error: *const kafka_iam_oauth_error,
) -> *const c_char {
    static NULL_ERROR: &CStr = c"NULL error";
    guard(NULL_ERROR.as_ptr(), || {
        // SAFETY: non-NULL errors come from `boundary`.
        unsafe { error.cast::<ErrorObject>().as_ref() }
            .map_or(NULL_ERROR.as_ptr(), |e| e.message.as_ptr())
    })
}

/// The AWS error code for STS errors (e.g. "AccessDenied"), borrowed from
/// the error; NULL when there is none.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_aws_code(
    error: *const kafka_iam_oauth_error,
) -> *const c_char {
    guard(ptr::null(), || {
        // SAFETY: non-NULL errors come from `boundary`.
        unsafe { error.cast::<ErrorObject>().as_ref() }
            .and_then(|e| e.aws_code.as_ref())
            .map_or(ptr::null(), |c| c.as_ptr())
    })
}

/// Frees an error. NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_error_free(error: *mut kafka_iam_oauth_error) {
    guard((), || {
        if !error.is_null() {
            // SAFETY: created by `Box::into_raw` in `boundary`.
            drop(unsafe { Box::from_raw(error.cast::<ErrorObject>()) });
        }
    })
}

/// The library version ("MAJOR.MINOR.PATCH"), a static string; equals the
/// header's `KAFKA_IAM_OAUTH_VERSION`.
#[no_mangle]
pub extern "C" fn kafka_iam_oauth_version() -> *const c_char {
    static VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");
    VERSION.as_ptr().cast()
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
}

//! The librdkafka integration, written once and used by both ways in:
//!
//! - the plugin: `plugin.library.paths=/path/to/libkafka_iam_oauth.so` makes
//!   librdkafka call `conf_init` ([`plugin_conf_init`]), after which any
//!   librdkafka client (kcat, C, Python, .NET, …) authenticates by
//!   configuration alone;
//! - the C adapter: a C program calls `kafka_iam_oauth_rdkafka_conf_init()`
//!   from `include/kafka_iam_oauth_rdkafka.h`, a typed inline wrapper over
//!   [`kafka_iam_oauth_rdkafka_conf_init_raw`].
//!
//! Both get the same thing on a configuration ([`attach`]): its
//! `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions` validated as
//! they are now and (`on_conf_set`) as they are changed later; the token
//! refresh callback ([`refresh_cb`], one timeout: the library's default);
//! refreshes routed to the SASL queue, which a thread-start interceptor hands
//! to librdkafka's background thread (no polling needed); and at `on_new` the
//! final check of `sasl.mechanism` and the settings. They differ only where
//! librdkafka makes them: `rd_kafka_conf_dup` copies plugin.library.paths and
//! so calls the plugin's `conf_init` on the copy itself, while nothing would
//! re-attach the adapter, so only the adapter adds an `on_conf_dup`
//! interceptor (adding it for the plugin too would attach the copy twice).
//!
//! librdkafka is not linked; its functions come from [`crate::librdkafka`].
//! Every callback below goes through [`crate::ffi::boundary`].

use crate::ffi::{boundary, invalid, read_str, write_errstr, Or, Report};
use crate::librdkafka::{
    one_copy_loaded, rdkafka, Conf, Rdkafka, Rk, CONF_INVALID, CONF_OK, CONF_UNKNOWN,
    RESP_CONFLICT, RESP_INVALID_ARG, RESP_OK, THREAD_MAIN,
};
use kafka_iam_oauth::config::{self, MAX_INPUT_LEN};
use kafka_iam_oauth::{Error, Provider, PANIC_MESSAGE};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::ptr;

/// Name of the interceptors this library adds (one set per configuration).
const INTERCEPTOR: &CStr = c"kafka-iam-oauth";
/// Every message this integration hands to librdkafka starts with this.
const PREFIX: &str = "kafka-iam-oauth: ";
const CONFIG: &CStr = c"sasl.oauthbearer.config";
const EXTENSIONS: &CStr = c"sasl.oauthbearer.extensions";

/// Which way the library was attached to a configuration.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// `plugin.library.paths`: librdkafka re-runs `conf_init` on copies.
    Plugin,
    /// `kafka_iam_oauth_rdkafka_conf_init()`: re-attached to copies by our
    /// own `on_conf_dup` interceptor.
    Adapter,
}

/// A failure to hand to librdkafka: the message, and the librdkafka code
/// when one explains it better than the callback's own failure code.
pub(crate) struct RdError {
    code: Option<c_int>,
    message: String,
}

impl From<Error> for RdError {
    fn from(e: Error) -> Self {
        RdError {
            code: None,
            message: e.message().to_string(),
        }
    }
}

impl From<String> for RdError {
    fn from(message: String) -> Self {
        RdError {
            code: None,
            message,
        }
    }
}

/// Reports through librdkafka's `errstr` buffer and an `int` result:
/// `OK` on success, `FAILED` (or the error's own code) with the message.
struct Errstr<const OK: c_int, const FAILED: c_int> {
    buf: *mut c_char,
    size: usize,
}

fn report_to<const OK: c_int, const FAILED: c_int>(
    buf: *mut c_char,
    size: usize,
) -> Errstr<OK, FAILED> {
    Errstr { buf, size }
}

impl<const OK: c_int, const FAILED: c_int> Report<(), RdError> for Errstr<OK, FAILED> {
    type Output = c_int;
    fn ok(self, _: ()) -> c_int {
        OK
    }
    fn fail(self, e: RdError) -> c_int {
        write_errstr(self.buf, self.size, &format!("{PREFIX}{}", e.message));
        e.code.unwrap_or(FAILED)
    }
    fn panicked(self) -> c_int {
        write_errstr(self.buf, self.size, &format!("{PREFIX}{PANIC_MESSAGE}"));
        FAILED
    }
    fn last_resort() -> c_int {
        FAILED
    }
}

/// Reports a token refresh: every refresh librdkafka asks for must be
/// answered, so a failure (or a panic) becomes
/// `rd_kafka_oauthbearer_set_token_failure` with the reason.
struct RefreshReport {
    rk: *mut Rk,
}

impl RefreshReport {
    fn answer(&self, message: &str) {
        let Ok(rd) = rdkafka() else { return };
        if self.rk.is_null() {
            return;
        }
        let c = CString::new(format!("{PREFIX}{message}").replace('\0', " ")).unwrap_or_default();
        // SAFETY: rk is the live client librdkafka called us for; `c` lives for the call.
        unsafe { (rd.set_token_failure)(self.rk, c.as_ptr()) };
    }
}

impl Report<(), RdError> for RefreshReport {
    type Output = ();
    fn ok(self, _: ()) {}
    fn fail(self, e: RdError) {
        self.answer(&e.message)
    }
    fn panicked(self) {
        self.answer(PANIC_MESSAGE)
    }
    fn last_resort() {}
}

/// One string property of a configuration, checked as the C ABI checks its
/// strings: at most `MAX_INPUT_LEN` bytes, UTF-8. `None` when unset or empty.
///
/// # Safety
/// `conf` is a live `rd_kafka_conf_t`.
unsafe fn setting(rd: &Rdkafka, conf: *const Conf, name: &CStr) -> Result<Option<String>, Error> {
    // SAFETY: per this function's contract.
    let Some(bytes) = (unsafe { rd.conf_bytes(conf, name) }) else {
        return Ok(None);
    };
    let name = name.to_string_lossy();
    if bytes.len() > MAX_INPUT_LEN {
        return Err(invalid(format!(
            "{name} is longer than {MAX_INPUT_LEN} bytes"
        )));
    }
    String::from_utf8(bytes).map(Some).map_err(|e| {
        invalid(format!(
            "{name} is not valid UTF-8 (at byte {})",
            e.utf8_error().valid_up_to()
        ))
    })
}

fn missing_config() -> Error {
    Error::config(
        "set sasl.oauthbearer.config (e.g. \"region=eu-west-1,audience=my-kafka.example.com\")",
    )
}

/// Validates the settings as they are on `conf` now (either may still be
/// unset). No network call.
///
/// # Safety
/// `conf` is a live `rd_kafka_conf_t`.
unsafe fn validate(rd: &Rdkafka, conf: *const Conf) -> Result<Option<String>, Error> {
    // SAFETY: per this function's contract.
    let (config, extensions) =
        unsafe { (setting(rd, conf, CONFIG)?, setting(rd, conf, EXTENSIONS)?) };
    match &config {
        Some(c) => drop(Provider::new(c, extensions.as_deref().unwrap_or(""))?),
        None => drop(config::parse_extensions(
            extensions.as_deref().unwrap_or(""),
        )?),
    }
    Ok(config)
}

/// The provider for a client's configuration; providers with the same
/// effective configuration share the process-wide token cache, so building
/// one per refresh costs no STS call.
///
/// # Safety
/// `conf` is a live `rd_kafka_conf_t`.
unsafe fn provider_for(rd: &Rdkafka, conf: *const Conf) -> Result<Provider, Error> {
    // SAFETY: per this function's contract.
    let config = unsafe { setting(rd, conf, CONFIG)? }.ok_or_else(missing_config)?;
    // SAFETY: per this function's contract.
    let extensions = unsafe { setting(rd, conf, EXTENSIONS)? }.unwrap_or_default();
    Provider::new(&config, &extensions)
}

/// Attaches the library to `conf`: validates, adds the interceptors, sets
/// the refresh callback and the SASL queue. On failure `conf` is unchanged
/// (unless librdkafka refuses an interceptor after accepting the first).
///
/// # Safety
/// `conf` is NULL or a live `rd_kafka_conf_t` the caller may change.
unsafe fn attach(conf: *mut Conf, origin: Origin) -> Result<(), RdError> {
    if conf.is_null() {
        return Err(invalid("conf is NULL").into());
    }
    one_copy_loaded()?;
    let rd = rdkafka()?;
    // SAFETY: conf is live (checked non-NULL; the caller's contract).
    let config = unsafe { validate(rd, conf) }?;
    // The adapter is called once the application has set its properties;
    // the plugin may be loaded before them (kcat's -X order), so for it the
    // presence check waits for on_new.
    if origin == Origin::Adapter && config.is_none() {
        let e = missing_config();
        return Err(format!(
            "{} before calling kafka_iam_oauth_rdkafka_conf_init",
            e.message()
        )
        .into());
    }
    // SAFETY: as above.
    unsafe { add_interceptors(rd, conf, origin) }?;
    // SAFETY: as above; refresh_cb has librdkafka's callback signature.
    unsafe {
        (rd.set_refresh_cb)(conf, Some(refresh_cb));
        // Refreshes go to the SASL queue, served by the background thread
        // (see on_thread_start): no rd_kafka_poll() needed for them.
        (rd.enable_sasl_queue)(conf, 1);
    }
    Ok(())
}

/// Adds this library's configuration interceptors to `conf`.
///
/// # Safety
/// `conf` is a live `rd_kafka_conf_t`.
unsafe fn add_interceptors(rd: &Rdkafka, conf: *mut Conf, origin: Origin) -> Result<(), RdError> {
    let name = INTERCEPTOR.as_ptr();
    // SAFETY: conf is live; the callbacks have librdkafka's signatures.
    let first = unsafe { (rd.add_on_new)(conf, name, on_new, ptr::null_mut()) };
    if first == RESP_CONFLICT {
        return Err(RdError::from(
            "this configuration is already set up for kafka-iam-oauth (by kafka_iam_oauth_rdkafka_conf_init or plugin.library.paths)"
                .to_string(),
        ));
    }
    // SAFETY: as above.
    let rest = unsafe {
        [
            (rd.add_on_conf_set)(conf, name, on_conf_set, ptr::null_mut()),
            if origin == Origin::Adapter {
                (rd.add_on_conf_dup)(conf, name, on_conf_dup, ptr::null_mut())
            } else {
                RESP_OK
            },
        ]
    };
    match [first].into_iter().chain(rest).find(|r| *r != RESP_OK) {
        Some(r) => Err(format!("cannot add its interceptors (librdkafka error {r})").into()),
        None => Ok(()),
    }
}

/// librdkafka's token-refresh callback: answers with a token from the
/// client's own settings, waiting up to the library's default timeout
/// (`KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS`) and only when none is cached, or
/// with a failure carrying the reason.
unsafe extern "C" fn refresh_cb(rk: *mut Rk, _config: *const c_char, _opaque: *mut c_void) {
    boundary(RefreshReport { rk }, || -> Result<(), RdError> {
        if rk.is_null() {
            return Err(invalid("rk is NULL").into());
        }
        let rd = rdkafka()?;
        // SAFETY: rk is the live client librdkafka calls us for.
        let provider = unsafe { provider_for(rd, (rd.rk_conf)(rk)) }?;
        let token = provider.token()?;
        let mut err = [0 as c_char; 512];
        let ext = token.extension_ptrs();
        // SAFETY: all strings are NUL-terminated and outlive the call.
        let res = unsafe {
            (rd.set_token)(
                rk,
                token.value_cstr().as_ptr(),
                token.lifetime_ms(),
                token.principal_cstr().as_ptr(),
                if ext.is_empty() {
                    ptr::null()
                } else {
                    ext.as_ptr()
                },
                ext.len(),
                err.as_mut_ptr(),
                err.len(),
            )
        };
        if res != RESP_OK {
            // SAFETY: librdkafka NUL-terminates errstr.
            let why = unsafe { CStr::from_ptr(err.as_ptr()) }.to_string_lossy();
            return Err(format!("librdkafka refused the token: {why}").into());
        }
        Ok(())
    })
}

/// Validates `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions`
/// as they are set after the library was attached, so a bad value fails
/// `rd_kafka_conf_set` with our message. "Unknown" otherwise: librdkafka
/// then stores the value as usual.
unsafe extern "C" fn on_conf_set(
    _conf: *mut Conf,
    name: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    size: usize,
    _opaque: *mut c_void,
) -> c_int {
    boundary(
        report_to::<CONF_UNKNOWN, CONF_INVALID>(errstr, size),
        || -> Result<(), RdError> {
            if name.is_null() || value.is_null() {
                return Ok(());
            }
            // SAFETY: librdkafka passes a NUL-terminated name.
            let name = unsafe { CStr::from_ptr(name) };
            if name != CONFIG && name != EXTENSIONS {
                return Ok(());
            }
            // SAFETY: librdkafka passes a NUL-terminated value.
            let value = unsafe { read_str(value, &name.to_string_lossy()) }?;
            if value.is_empty() {
                return Ok(()); // unsetting; on_new requires the config
            }
            if name == CONFIG {
                drop(config::Config::parse(value, "")?);
            } else {
                drop(config::parse_extensions(value)?);
            }
            Ok(())
        },
    )
}

/// Re-attaches the adapter to a copy made by `rd_kafka_conf_dup` (which
/// copies the refresh callback and the SASL queue setting, but not
/// interceptors). Runs before the properties are copied.
unsafe extern "C" fn on_conf_dup(
    new_conf: *mut Conf,
    _old_conf: *const Conf,
    _filter_cnt: usize,
    _filter: *mut *const c_char,
    _opaque: *mut c_void,
) -> c_int {
    // librdkafka ignores what on_conf_dup returns beyond the code, so the
    // error's text is dropped here.
    boundary(Or(RESP_INVALID_ARG), || -> Result<c_int, Error> {
        if new_conf.is_null() {
            return Err(invalid("new_conf is NULL"));
        }
        let rd = rdkafka().map_err(invalid)?;
        // SAFETY: new_conf is the live copy librdkafka is building.
        Ok(
            match unsafe { add_interceptors(rd, new_conf, Origin::Adapter) } {
                Ok(()) => RESP_OK,
                Err(e) => e.code.unwrap_or(RESP_INVALID_ARG),
            },
        )
    })
}

/// When the client's main thread starts (its SASL mechanism is chosen by
/// then, which is not yet so at on_new), hands the SASL queue to the
/// background thread. Failure means the client uses no SASL callback
/// mechanism: nothing to refresh, nothing to report.
unsafe extern "C" fn on_thread_start(
    rk: *mut Rk,
    thread_type: c_int,
    _name: *const c_char,
    _opaque: *mut c_void,
) -> c_int {
    boundary(Or(RESP_OK), || -> Result<c_int, Error> {
        if thread_type == THREAD_MAIN && !rk.is_null() {
            let rd = rdkafka().map_err(invalid)?;
            // SAFETY: rk is the client whose main thread is starting.
            let _ = unsafe { enable_background(rd, rk) };
        }
        Ok(RESP_OK)
    })
}

/// Runs when a client is created, with its final configuration: checks
/// the mechanism and our settings and adds the thread interceptor.
/// (`rd_kafka_new` logs an on_new failure as ICFAIL; it does not fail.)
unsafe extern "C" fn on_new(
    rk: *mut Rk,
    conf: *const Conf,
    _opaque: *mut c_void,
    errstr: *mut c_char,
    size: usize,
) -> c_int {
    boundary(
        report_to::<RESP_OK, RESP_INVALID_ARG>(errstr, size),
        || -> Result<(), RdError> {
            if rk.is_null() || conf.is_null() {
                return Err(invalid("rk or conf is NULL").into());
            }
            let rd = rdkafka()?;
            // SAFETY: conf is the configuration of the client being created.
            let mechanism = unsafe { rd.conf_bytes(conf, c"sasl.mechanisms") }.unwrap_or_default();
            if !mechanism.eq_ignore_ascii_case(b"OAUTHBEARER") {
                return Err(format!(
                    "sasl.mechanism must be OAUTHBEARER (it is {:?})",
                    String::from_utf8_lossy(&mechanism)
                )
                .into());
            }
            // SAFETY: as above.
            unsafe { provider_for(rd, conf) }?;
            // Instance interceptors can only be added now.
            // SAFETY: rk is the client being created; the callback has
            // librdkafka's signature.
            let r = unsafe {
                (rd.add_on_thread_start)(rk, INTERCEPTOR.as_ptr(), on_thread_start, ptr::null_mut())
            };
            if r != RESP_OK {
                return Err(
                    format!("cannot add its thread interceptor (librdkafka error {r})").into(),
                );
            }
            Ok(())
        },
    )
}

/// `rd_kafka_sasl_background_callbacks_enable`, its error as an [`RdError`].
///
/// # Safety
/// `rk` is a live client.
unsafe fn enable_background(rd: &Rdkafka, rk: *mut Rk) -> Result<(), RdError> {
    // SAFETY: per this function's contract.
    let err = unsafe { (rd.background_enable)(rk) };
    if err.is_null() {
        return Ok(());
    }
    // SAFETY: an rd_kafka_error_t we own; read, then destroyed once.
    let (code, why) = unsafe {
        let code = (rd.error_code)(err);
        let s = (rd.error_string)(err);
        let why = if s.is_null() {
            String::new()
        } else {
            CStr::from_ptr(s).to_string_lossy().into_owned()
        };
        (rd.error_destroy)(err);
        (code, why)
    };
    Err(RdError {
        code: Some(code),
        message: format!("cannot enable SASL background callbacks: {why}"),
    })
}

/// The plugin entry point librdkafka calls for `plugin.library.paths`
/// (exported as `conf_init` by the shared library only). Attaches the
/// library to the configuration; failures come back through `errstr`.
///
/// # Safety
/// Called by librdkafka with its configuration object, a pointer slot for
/// the plugin's opaque and an error buffer of `errstr_size` bytes.
#[doc(hidden)]
pub unsafe extern "C" fn plugin_conf_init(
    conf: *mut c_void,
    plug_opaquep: *mut *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> c_int {
    boundary(
        report_to::<RESP_OK, RESP_INVALID_ARG>(errstr, errstr_size),
        || {
            if !plug_opaquep.is_null() {
                // SAFETY: librdkafka hands a writable pointer slot.
                unsafe { *plug_opaquep = ptr::null_mut() };
            }
            // SAFETY: conf is NULL or librdkafka's configuration under construction.
            unsafe { attach(conf, Origin::Plugin) }
        },
    )
}

/// The untyped entry behind `kafka_iam_oauth_rdkafka_conf_init()` of
/// `kafka_iam_oauth_rdkafka.h` (use that from C): attaches this library to
/// a librdkafka configuration.
///
/// `conf` is an `rd_kafka_conf_t *` on which `sasl.oauthbearer.config` (and,
/// where the librdkafka build has it, `sasl.oauthbearer.extensions`) is
/// already set. Validates them (no network call), registers the token
/// refresh callback, routes refreshes to the SASL queue and adds
/// interceptors that check later changes to those settings, check
/// `sasl.mechanism` when a client is created, hand the SASL queue to
/// librdkafka's background thread (no polling needed for refreshes), and
/// re-attach to copies made with `rd_kafka_conf_dup`. Call it once per
/// configuration, before `rd_kafka_new`; a second call, or one on a
/// configuration that loads this library through `plugin.library.paths`, is
/// refused. librdkafka must be loaded in the process (1.9 or newer); this
/// library finds its functions at run time. Refused, naming them, when more
/// than one copy of librdkafka is loaded in the process: nothing tells which
/// copy `conf` belongs to.
///
/// Returns `RD_KAFKA_CONF_OK` (0), or `RD_KAFKA_CONF_INVALID` (-1) with the
/// reason written to `errstr` (NUL-terminated, truncated to `errstr_size`
/// bytes; `errstr` may be NULL). `conf` stays owned by the caller. Never blocks.
///
/// # Safety
/// `conf` is NULL or a live `rd_kafka_conf_t`; `errstr` is NULL or writable
/// for `errstr_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_rdkafka_conf_init_raw(
    conf: *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> c_int {
    boundary(
        report_to::<CONF_OK, CONF_INVALID>(errstr, errstr_size),
        || {
            // SAFETY: per this function's contract.
            unsafe { attach(conf, Origin::Adapter) }
        },
    )
}

/// The untyped entry behind
/// `kafka_iam_oauth_rdkafka_enable_background_callbacks()` of
/// `kafka_iam_oauth_rdkafka.h`: hands the SASL queue of client `rk` (an
/// `rd_kafka_t *`) to librdkafka's background thread, so token refreshes
/// are answered while the application does not poll. Clients made from a
/// configuration given to `kafka_iam_oauth_rdkafka_conf_init_raw` (or
/// loading the plugin) get this already; calling it again is harmless.
///
/// Returns 0 (`RD_KAFKA_RESP_ERR_NO_ERROR`) or a librdkafka error code
/// (`RD_KAFKA_RESP_ERR__INVALID_ARG` for a NULL `rk`) with the reason in
/// `errstr` (may be NULL). Never blocks.
///
/// # Safety
/// `rk` is NULL or a live `rd_kafka_t`; `errstr` is NULL or writable for
/// `errstr_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_rdkafka_enable_background_callbacks_raw(
    rk: *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> c_int {
    boundary(
        report_to::<RESP_OK, RESP_INVALID_ARG>(errstr, errstr_size),
        || {
            if rk.is_null() {
                return Err(invalid("rk is NULL").into());
            }
            // SAFETY: rk is a live client (this function's contract).
            unsafe { enable_background(rdkafka()?, rk) }
        },
    )
}

/// The untyped token-refresh callback behind
/// `kafka_iam_oauth_rdkafka_refresh_cb()` of `kafka_iam_oauth_rdkafka.h`,
/// for applications that register the callback themselves with
/// `rd_kafka_conf_set_oauthbearer_token_refresh_cb` instead of calling
/// `kafka_iam_oauth_rdkafka_conf_init`. Reads the client's
/// `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions` and answers
/// with `rd_kafka_oauthbearer_set_token`, or with
/// `rd_kafka_oauthbearer_set_token_failure` and a message starting with
/// `kafka-iam-oauth:` (never a token or secret). May block up to
/// `KAFKA_IAM_OAUTH_DEFAULT_TIMEOUT_MS`, and only when no token is cached.
///
/// # Safety
/// Called by librdkafka with a live `rd_kafka_t`.
#[no_mangle]
pub unsafe extern "C" fn kafka_iam_oauth_rdkafka_refresh_cb_raw(
    rk: *mut c_void,
    oauthbearer_config: *const c_char,
    opaque: *mut c_void,
) {
    boundary(Or(()), || -> Result<(), Error> {
        // SAFETY: forwarded unchanged; refresh_cb is a boundary itself.
        unsafe { refresh_cb(rk, oauthbearer_config, opaque) };
        Ok(())
    })
}

//! librdkafka plugin: `plugin.library.paths=/path/to/libkafka_iam_oauth.so`
//! makes librdkafka call [`conf_init`], after which the client authenticates
//! with tokens from this library by configuration alone (kcat, Python, .NET…).
//!
//! This library does not link librdkafka. librdkafka opens plugins with
//! `RTLD_NOW | RTLD_LOCAL`, and where librdkafka itself was loaded privately
//! (confluent-kafka's wheel) its symbols are not global, so the functions we
//! call are looked up at run time: first globally, then in the librdkafka
//! shared object already loaded in the process.

use kafka_iam_oauth::Provider;
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::sync::OnceLock;
use std::time::Duration;

type Conf = c_void;
type Rk = c_void;
const RESP_OK: c_int = 0;
/// `RD_KAFKA_RESP_ERR__INVALID_ARG`.
const RESP_INVALID_ARG: c_int = -186;
const CONF_OK: c_int = 0;
const REFRESH_TIMEOUT: Duration = Duration::from_secs(8);

type RefreshCb = unsafe extern "C" fn(*mut Rk, *const c_char, *mut c_void);
type OnNew = unsafe extern "C" fn(*mut Rk, *const Conf, *mut c_void, *mut c_char, usize) -> c_int;
type OnThreadStart = unsafe extern "C" fn(*mut Rk, c_int, *const c_char, *mut c_void) -> c_int;
type OnConfSet = unsafe extern "C" fn(
    *mut Conf,
    *const c_char,
    *const c_char,
    *mut c_char,
    usize,
    *mut c_void,
) -> c_int;
/// `RD_KAFKA_THREAD_MAIN`.
const THREAD_MAIN: c_int = 0;
/// `RD_KAFKA_CONF_UNKNOWN`: "not ours, let librdkafka handle it".
const CONF_UNKNOWN: c_int = -2;
/// `RD_KAFKA_CONF_INVALID`.
const CONF_INVALID: c_int = -1;

/// The librdkafka functions the plugin calls, resolved once.
struct Rdkafka {
    conf_get: unsafe extern "C" fn(*const Conf, *const c_char, *mut c_char, *mut usize) -> c_int,
    set_refresh_cb: unsafe extern "C" fn(*mut Conf, Option<RefreshCb>),
    enable_sasl_queue: unsafe extern "C" fn(*mut Conf, c_int),
    add_on_new: unsafe extern "C" fn(*mut Conf, *const c_char, OnNew, *mut c_void) -> c_int,
    add_on_thread_start:
        unsafe extern "C" fn(*mut Rk, *const c_char, OnThreadStart, *mut c_void) -> c_int,
    add_on_conf_set:
        unsafe extern "C" fn(*mut Conf, *const c_char, OnConfSet, *mut c_void) -> c_int,
    background_enable: unsafe extern "C" fn(*mut Rk) -> *mut c_void,
    error_destroy: unsafe extern "C" fn(*mut c_void),
    rk_conf: unsafe extern "C" fn(*mut Rk) -> *const Conf,
    set_token: unsafe extern "C" fn(
        *mut Rk,
        *const c_char,
        i64,
        *const c_char,
        *const *const c_char,
        usize,
        *mut c_char,
        usize,
    ) -> c_int,
    set_token_failure: unsafe extern "C" fn(*mut Rk, *const c_char) -> c_int,
}

fn rdkafka() -> Result<&'static Rdkafka, String> {
    static RD: OnceLock<Result<Rdkafka, String>> = OnceLock::new();
    RD.get_or_init(resolve).as_ref().map_err(Clone::clone)
}

fn resolve() -> Result<Rdkafka, String> {
    // SAFETY: dlsym/dlopen with valid C strings; RTLD_NOLOAD never loads anything new.
    let handle = unsafe {
        if !libc::dlsym(libc::RTLD_DEFAULT, c"rd_kafka_conf_get".as_ptr()).is_null() {
            libc::RTLD_DEFAULT
        } else {
            let path = loaded_librdkafka().ok_or_else(|| {
                "kafka-iam-oauth plugin: no librdkafka found in this process (the plugin must be loaded by librdkafka)"
                    .to_string()
            })?;
            let h = libc::dlopen(path.as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
            if h.is_null() {
                return Err(format!(
                    "kafka-iam-oauth plugin: cannot open {}",
                    path.to_string_lossy()
                ));
            }
            h
        }
    };
    // SAFETY (every `sym` below): each field's type is the C signature of
    // the librdkafka function of that name (librdkafka's public API).
    Ok(Rdkafka {
        conf_get: unsafe { sym(handle, c"rd_kafka_conf_get")? },
        set_refresh_cb: unsafe { sym(handle, c"rd_kafka_conf_set_oauthbearer_token_refresh_cb")? },
        enable_sasl_queue: unsafe { sym(handle, c"rd_kafka_conf_enable_sasl_queue")? },
        add_on_new: unsafe { sym(handle, c"rd_kafka_conf_interceptor_add_on_new")? },
        add_on_thread_start: unsafe { sym(handle, c"rd_kafka_interceptor_add_on_thread_start")? },
        add_on_conf_set: unsafe { sym(handle, c"rd_kafka_conf_interceptor_add_on_conf_set")? },
        background_enable: unsafe { sym(handle, c"rd_kafka_sasl_background_callbacks_enable")? },
        error_destroy: unsafe { sym(handle, c"rd_kafka_error_destroy")? },
        rk_conf: unsafe { sym(handle, c"rd_kafka_conf")? },
        set_token: unsafe { sym(handle, c"rd_kafka_oauthbearer_set_token")? },
        set_token_failure: unsafe { sym(handle, c"rd_kafka_oauthbearer_set_token_failure")? },
    })
}

/// Looks up `name` in `handle`.
///
/// # Safety
/// `T` must be the function pointer type of the C function `name`.
unsafe fn sym<T: Copy>(handle: *mut c_void, name: &CStr) -> Result<T, String> {
    assert_eq!(std::mem::size_of::<T>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: dlsym with a valid handle and C string.
    let p = unsafe { libc::dlsym(handle, name.as_ptr()) };
    if p.is_null() {
        return Err(format!(
            "kafka-iam-oauth plugin: this librdkafka lacks {} (librdkafka 1.9 or newer is needed)",
            name.to_string_lossy()
        ));
    }
    // SAFETY: the caller names the symbol's true type; sizes checked above.
    Ok(unsafe { std::mem::transmute_copy::<*mut c_void, T>(&p) })
}

/// Path of the librdkafka shared object loaded in this process.
fn loaded_librdkafka() -> Option<CString> {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        // SAFETY: called by dl_iterate_phdr with a valid info; data is our Option<CString>.
        let (info, found) = unsafe { (&*info, &mut *(data as *mut Option<CString>)) };
        if info.dlpi_name.is_null() {
            return 0;
        }
        // SAFETY: dlpi_name is a NUL-terminated path.
        let name = unsafe { CStr::from_ptr(info.dlpi_name) };
        let base = name.to_bytes().rsplit(|b| *b == b'/').next().unwrap_or(&[]);
        // librdkafka.so.1, or a wheel's librdkafka-<hash>.so.1; not librdkafka++.
        let rest = base.strip_prefix(b"librdkafka").unwrap_or(b"+");
        if matches!(rest.first(), Some(b'.' | b'-')) && rest.windows(3).any(|w| w == b".so") {
            *found = Some(name.to_owned());
            return 1;
        }
        0
    }
    let mut found: Option<CString> = None;
    // SAFETY: the callback only reads the entries it is handed.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut found as *mut Option<CString>).cast()) };
    found
}

fn write_errstr(errstr: *mut c_char, size: usize, message: &str) {
    if errstr.is_null() || size == 0 {
        return;
    }
    let bytes = message.as_bytes();
    let n = bytes.len().min(size - 1);
    // SAFETY: librdkafka hands us a writable buffer of `size` bytes.
    unsafe {
        ptr::copy_nonoverlapping(bytes.as_ptr(), errstr.cast::<u8>(), n);
        *errstr.add(n) = 0;
    }
}

/// Reads a string property whole, `None` when unset, empty or unknown to
/// this librdkafka.
fn conf_str(rd: &Rdkafka, conf: *const Conf, name: &CStr) -> Option<String> {
    let mut size = 0usize;
    // SAFETY: a NULL destination only asks for the size (NUL included).
    let res = unsafe { (rd.conf_get)(conf, name.as_ptr(), ptr::null_mut(), &mut size) };
    if res != CONF_OK || size <= 1 {
        return None;
    }
    let mut buf = vec![0u8; size];
    // SAFETY: buffer and size describe writable memory.
    let res = unsafe { (rd.conf_get)(conf, name.as_ptr(), buf.as_mut_ptr().cast(), &mut size) };
    if res != CONF_OK {
        return None;
    }
    let s = CStr::from_bytes_until_nul(&buf)
        .ok()?
        .to_string_lossy()
        .into_owned();
    (!s.is_empty()).then_some(s)
}

/// Builds (or finds in the process-wide cache) the provider for a client.
fn provider_for(rd: &Rdkafka, conf: *const Conf) -> Result<Provider, String> {
    let config = conf_str(rd, conf, c"sasl.oauthbearer.config").ok_or_else(|| {
        "kafka-iam-oauth plugin: set sasl.oauthbearer.config (e.g. \"region=eu-west-1,audience=my-kafka.example.com\")"
            .to_string()
    })?;
    let extensions = conf_str(rd, conf, c"sasl.oauthbearer.extensions").unwrap_or_default();
    Provider::new(&config, &extensions).map_err(|e| format!("kafka-iam-oauth plugin: {e}"))
}

unsafe extern "C" fn refresh_cb(rk: *mut Rk, _config: *const c_char, _opaque: *mut c_void) {
    let Ok(rd) = rdkafka() else { return };
    let result = catch_unwind(AssertUnwindSafe(|| {
        // SAFETY: rk is the live client librdkafka calls us for.
        let conf = unsafe { (rd.rk_conf)(rk) };
        let provider = provider_for(rd, conf)?;
        let token = provider
            .token_timeout(REFRESH_TIMEOUT)
            .map_err(|e| e.to_string())?;
        let mut errstr = [0 as c_char; 512];
        let ext = token.extension_ptrs();
        // SAFETY: all strings are NUL-terminated and live for the call.
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
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if res != RESP_OK {
            // SAFETY: librdkafka NUL-terminates errstr.
            return Err(unsafe { CStr::from_ptr(errstr.as_ptr()) }
                .to_string_lossy()
                .into_owned());
        }
        Ok(())
    }));
    let failure = match result {
        Ok(Ok(())) => return,
        Ok(Err(message)) => message,
        Err(_) => "kafka-iam-oauth plugin: internal error (a panic was caught)".to_string(),
    };
    let c = CString::new(failure.replace('\0', " ")).unwrap_or_default();
    // SAFETY: every refresh must be answered; c lives for the call.
    unsafe { (rd.set_token_failure)(rk, c.as_ptr()) };
}

/// Validates `sasl.oauthbearer.config` and `sasl.oauthbearer.extensions` as
/// they are set after the plugin was loaded, so a bad value fails
/// `rd_kafka_conf_set` with our message. Returns "unknown" otherwise, so
/// librdkafka stores the value as usual.
unsafe extern "C" fn on_conf_set(
    _conf: *mut Conf,
    name: *const c_char,
    value: *const c_char,
    errstr: *mut c_char,
    size: usize,
    _opaque: *mut c_void,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| {
        if name.is_null() || value.is_null() {
            return Ok(());
        }
        // SAFETY: librdkafka passes NUL-terminated strings.
        let (name, value) = unsafe { (CStr::from_ptr(name), CStr::from_ptr(value)) };
        let name = name.to_bytes();
        if name != b"sasl.oauthbearer.config" && name != b"sasl.oauthbearer.extensions" {
            return Ok(());
        }
        let name = String::from_utf8_lossy(name);
        let value = value
            .to_str()
            .map_err(|_| format!("kafka-iam-oauth plugin: {name} is not UTF-8"))?;
        let checked = if name == "sasl.oauthbearer.config" {
            kafka_iam_oauth::config::Config::parse(value, "").map(|_| ())
        } else {
            kafka_iam_oauth::config::parse_extensions(value).map(|_| ())
        };
        checked.map_err(|e| format!("kafka-iam-oauth plugin: {e}"))
    }));
    match result {
        Ok(Ok(())) => CONF_UNKNOWN,
        Ok(Err(message)) => {
            write_errstr(errstr, size, &message);
            CONF_INVALID
        }
        Err(_) => CONF_UNKNOWN,
    }
}

/// When the client's main thread starts (the SASL mechanism is chosen by
/// then), hand the SASL queue to librdkafka's background thread, so token
/// refreshes are served even if the application never polls.
unsafe extern "C" fn on_thread_start(
    rk: *mut Rk,
    thread_type: c_int,
    _name: *const c_char,
    _opaque: *mut c_void,
) -> c_int {
    if thread_type != THREAD_MAIN {
        return RESP_OK;
    }
    let _ = catch_unwind(AssertUnwindSafe(|| {
        let Ok(rd) = rdkafka() else { return };
        // SAFETY: rk is the client whose main thread is starting.
        let err = unsafe { (rd.background_enable)(rk) };
        if !err.is_null() {
            // SAFETY: an rd_kafka_error_t we own.
            unsafe { (rd.error_destroy)(err) };
        }
    }));
    RESP_OK
}

/// Runs when the client is created, with its final configuration: checks
/// the mechanism and our settings, adds the thread interceptor, and reports problems through librdkafka
/// (`rd_kafka_new` logs interceptor failures; it does not fail on them).
unsafe extern "C" fn on_new(
    rk: *mut Rk,
    conf: *const Conf,
    _opaque: *mut c_void,
    errstr: *mut c_char,
    size: usize,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        let rd = rdkafka()?;
        let mechanism = conf_str(rd, conf, c"sasl.mechanisms").unwrap_or_default();
        if !mechanism.eq_ignore_ascii_case("OAUTHBEARER") {
            return Err(format!(
                "kafka-iam-oauth plugin: sasl.mechanism must be OAUTHBEARER (it is {:?})",
                mechanism
            ));
        }
        provider_for(rd, conf)?;
        // Instance interceptors can only be added here.
        // SAFETY: rk is the client being created.
        let r = unsafe {
            (rd.add_on_thread_start)(
                rk,
                c"kafka-iam-oauth".as_ptr(),
                on_thread_start,
                ptr::null_mut(),
            )
        };
        if r != RESP_OK {
            return Err(format!(
                "kafka-iam-oauth plugin: cannot add its thread interceptor (error {r})"
            ));
        }
        Ok(())
    }));
    match result {
        Ok(Ok(())) => RESP_OK,
        Ok(Err(message)) => {
            write_errstr(errstr, size, &message);
            RESP_INVALID_ARG
        }
        Err(_) => {
            write_errstr(
                errstr,
                size,
                "kafka-iam-oauth plugin: internal error (a panic was caught)",
            );
            RESP_INVALID_ARG
        }
    }
}

/// The plugin entry point librdkafka calls for `plugin.library.paths`.
///
/// Registers the token-refresh callback, routes refreshes to the SASL queue
/// and adds an `on_new` interceptor that validates the configuration and
/// enables background SASL callbacks. Failures are reported through
/// `errstr`; nothing here may crash the host.
#[doc(hidden)]
pub unsafe extern "C" fn plugin_conf_init(
    conf: *mut c_void,
    plug_opaquep: *mut *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> c_int {
    let result = catch_unwind(AssertUnwindSafe(|| -> Result<(), String> {
        if conf.is_null() {
            return Err("kafka-iam-oauth plugin: conf is NULL".into());
        }
        let rd = rdkafka()?;
        if !plug_opaquep.is_null() {
            // SAFETY: librdkafka hands a writable pointer slot.
            unsafe { *plug_opaquep = ptr::null_mut() };
        }
        // SAFETY: conf is librdkafka's configuration under construction.
        unsafe {
            (rd.set_refresh_cb)(conf, Some(refresh_cb));
            (rd.enable_sasl_queue)(conf, 1);
            let name = c"kafka-iam-oauth".as_ptr();
            let results = [
                (rd.add_on_new)(conf, name, on_new, ptr::null_mut()),
                (rd.add_on_conf_set)(conf, name, on_conf_set, ptr::null_mut()),
            ];
            if let Some(r) = results.iter().find(|r| **r != RESP_OK) {
                return Err(format!(
                    "kafka-iam-oauth plugin: cannot add its interceptors (error {r})"
                ));
            }
        }
        // Settings made before plugin.library.paths are checked now.
        if let Some(config) = conf_str(rd, conf, c"sasl.oauthbearer.config") {
            kafka_iam_oauth::config::Config::parse(&config, "")
                .map_err(|e| format!("kafka-iam-oauth plugin: {e}"))?;
        }
        if let Some(extensions) = conf_str(rd, conf, c"sasl.oauthbearer.extensions") {
            kafka_iam_oauth::config::parse_extensions(&extensions)
                .map_err(|e| format!("kafka-iam-oauth plugin: {e}"))?;
        }
        Ok(())
    }));
    match result {
        Ok(Ok(())) => RESP_OK,
        Ok(Err(m)) => {
            write_errstr(errstr, errstr_size, &m);
            RESP_INVALID_ARG
        }
        Err(_) => {
            write_errstr(
                errstr,
                errstr_size,
                "kafka-iam-oauth plugin: internal error (a panic was caught)",
            );
            RESP_INVALID_ARG
        }
    }
}

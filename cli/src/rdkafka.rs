//! A real SASL/OAUTHBEARER authentication and metadata requests through
//! librdkafka, for `doctor --bootstrap` (and the tests that ask the broker
//! for its verdict on a token).
//!
//! librdkafka is opened at run time (`dlopen`), never linked, so the binary
//! runs (and builds statically for musl) without it; `doctor` says clearly
//! when it is missing. The plugin's resolver (`capi/src/librdkafka.rs`)
//! only binds to a librdkafka already in the process and needs other
//! functions; this one opens the library itself and uses a client's API.

use libloading::os::unix::{Library, Symbol};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Where librdkafka is looked for when `--librdkafka` is not given: the
/// soname (the dynamic loader's search path), then the usual directories.
pub const LIBRDKAFKA_NAMES: &[&str] = &[
    "librdkafka.so.1",
    "/usr/local/lib/librdkafka.so.1",
    "/opt/homebrew/lib/librdkafka.1.dylib",
    "/usr/local/lib/librdkafka.1.dylib",
];

/// `RD_KAFKA_RESP_ERR__AUTHENTICATION`.
const ERR_AUTHENTICATION: c_int = -169;
/// `RD_KAFKA_RESP_ERR__TRANSPORT`.
const ERR_TRANSPORT: c_int = -195;
/// `RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN`.
const ERR_ALL_BROKERS_DOWN: c_int = -187;
/// `RD_KAFKA_RESP_ERR__RESOLVE`.
const ERR_RESOLVE: c_int = -193;
/// `RD_KAFKA_RESP_ERR__TIMED_OUT`.
const ERR_TIMED_OUT: c_int = -185;
/// `RD_KAFKA_RESP_ERR__SSL`.
const ERR_SSL: c_int = -181;
/// `RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED`.
pub const ERR_TOPIC_AUTHORIZATION_FAILED: c_int = 29;
/// `RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED`.
pub const ERR_GROUP_AUTHORIZATION_FAILED: c_int = 30;
/// `RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART`.
pub const ERR_UNKNOWN_TOPIC: c_int = 3;
/// How long every broker may be down (librdkafka's `ALL_BROKERS_DOWN`)
/// before that is the verdict: a few reconnects at the 1 s backoff cap.
const ALL_DOWN_GRACE: Duration = Duration::from_secs(3);
/// `RD_KAFKA_CONSUMER`: a consumer handle (with `group.id`), never
/// subscribed, so it joins no group.
const CONSUMER: c_int = 1;

type ErrorCb = unsafe extern "C" fn(*mut c_void, c_int, *const c_char, *mut c_void);
type LogCb = unsafe extern "C" fn(*const c_void, c_int, *const c_char, *const c_char);
type RefreshCb = unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void);

/// `rd_kafka_metadata_broker_t`.
#[repr(C)]
struct MdBroker {
    id: i32,
    host: *const c_char,
    port: c_int,
}

/// `rd_kafka_metadata_topic_t`.
#[repr(C)]
struct MdTopic {
    topic: *const c_char,
    partition_cnt: c_int,
    partitions: *const c_void,
    err: c_int,
}

/// `rd_kafka_metadata_t`.
#[repr(C)]
struct Metadata {
    broker_cnt: c_int,
    brokers: *const MdBroker,
    topic_cnt: c_int,
    topics: *const MdTopic,
    orig_broker_id: i32,
    orig_broker_name: *const c_char,
}

/// The librdkafka functions a client needs; each field has the C
/// signature of the function it is named after.
#[allow(clippy::type_complexity)]
struct Api {
    /// Never closed: librdkafka's threads may outlive a handle's destroy
    /// call briefly, and the log callback keeps `rd_kafka_opaque`.
    _library: std::mem::ManuallyDrop<Library>,
    version_str: Symbol<unsafe extern "C" fn() -> *const c_char>,
    err2str: Symbol<unsafe extern "C" fn(c_int) -> *const c_char>,
    conf_new: Symbol<unsafe extern "C" fn() -> *mut c_void>,
    conf_destroy: Symbol<unsafe extern "C" fn(*mut c_void)>,
    conf_set: Symbol<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            *const c_char,
            *mut c_char,
            usize,
        ) -> c_int,
    >,
    conf_set_error_cb: Symbol<unsafe extern "C" fn(*mut c_void, ErrorCb)>,
    conf_set_log_cb: Symbol<unsafe extern "C" fn(*mut c_void, LogCb)>,
    conf_set_refresh_cb: Symbol<unsafe extern "C" fn(*mut c_void, RefreshCb)>,
    conf_set_opaque: Symbol<unsafe extern "C" fn(*mut c_void, *mut c_void)>,
    new: Symbol<unsafe extern "C" fn(c_int, *mut c_void, *mut c_char, usize) -> *mut c_void>,
    destroy: Symbol<unsafe extern "C" fn(*mut c_void)>,
    poll: Symbol<unsafe extern "C" fn(*mut c_void, c_int) -> c_int>,
    set_token: Symbol<
        unsafe extern "C" fn(
            *mut c_void,
            *const c_char,
            i64,
            *const c_char,
            *const *const c_char,
            usize,
            *mut c_char,
            usize,
        ) -> c_int,
    >,
    topic_new: Symbol<unsafe extern "C" fn(*mut c_void, *const c_char, *mut c_void) -> *mut c_void>,
    topic_destroy: Symbol<unsafe extern "C" fn(*mut c_void)>,
    metadata: Symbol<
        unsafe extern "C" fn(*mut c_void, c_int, *mut c_void, *mut *const Metadata, c_int) -> c_int,
    >,
    metadata_destroy: Symbol<unsafe extern "C" fn(*const Metadata)>,
    partition_list_new: Symbol<unsafe extern "C" fn(c_int) -> *mut c_void>,
    partition_list_add:
        Symbol<unsafe extern "C" fn(*mut c_void, *const c_char, i32) -> *mut c_void>,
    partition_list_destroy: Symbol<unsafe extern "C" fn(*mut c_void)>,
    committed: Symbol<unsafe extern "C" fn(*mut c_void, *mut c_void, c_int) -> c_int>,
    opaque: Symbol<unsafe extern "C" fn(*const c_void) -> *mut c_void>,
}

/// librdkafka, opened from `path` or [`LIBRDKAFKA_NAMES`].
pub struct Librdkafka {
    api: Api,
    /// The file it was opened from.
    pub path: String,
}

impl Librdkafka {
    /// Opens librdkafka; the error says where it looked and how to fix it.
    pub fn open(path: Option<&str>) -> Result<Librdkafka, String> {
        let candidates: Vec<&str> = match path {
            Some(p) => vec![p],
            None => LIBRDKAFKA_NAMES.to_vec(),
        };
        let mut errors = Vec::new();
        for name in &candidates {
            // SAFETY: opening librdkafka runs only its constructors.
            match unsafe { Library::open(Some(*name), libc::RTLD_NOW | libc::RTLD_LOCAL) } {
                Ok(lib) => {
                    return Ok(Librdkafka {
                        api: resolve(lib)?,
                        path: name.to_string(),
                    })
                }
                Err(e) => errors.push(e.to_string()),
            }
        }
        if cfg!(target_feature = "crt-static") {
            // A static (musl) build has no dynamic loader to open it with.
            return Err(format!(
                "this kafka-iam-oauth is a static build and cannot load librdkafka ({}): run doctor --bootstrap \
                 with the dynamically linked build (pip install kafka-iam-oauth, or cargo install --path cli)",
                errors.first().cloned().unwrap_or_default()
            ));
        }
        Err(format!(
            "librdkafka could not be loaded (tried {}): install it (Debian/Ubuntu: apt-get install librdkafka1; \
             RHEL: dnf install librdkafka; macOS: brew install librdkafka) or give --librdkafka PATH. ({})",
            candidates.join(", "),
            errors.first().cloned().unwrap_or_default()
        ))
    }

    /// librdkafka's version string.
    pub fn version(&self) -> String {
        // SAFETY: returns a static string.
        unsafe { cstr((self.api.version_str)()) }
    }

    fn err2str(&self, err: c_int) -> String {
        // SAFETY: returns a static string for any code.
        unsafe { cstr((self.api.err2str)(err)) }
    }
}

fn resolve(library: Library) -> Result<Api, String> {
    macro_rules! sym {
        ($name:literal) => {
            // SAFETY: each field's type is the C signature of the function
            // of that name in librdkafka's public API (1.9 or newer).
            unsafe { library.get(concat!($name, "\0").as_bytes()) }.map_err(|_| {
                format!(
                    "this librdkafka lacks {} (librdkafka 1.9 or newer is needed)",
                    $name
                )
            })?
        };
    }
    Ok(Api {
        version_str: sym!("rd_kafka_version_str"),
        err2str: sym!("rd_kafka_err2str"),
        conf_new: sym!("rd_kafka_conf_new"),
        conf_destroy: sym!("rd_kafka_conf_destroy"),
        conf_set: sym!("rd_kafka_conf_set"),
        conf_set_error_cb: sym!("rd_kafka_conf_set_error_cb"),
        conf_set_log_cb: sym!("rd_kafka_conf_set_log_cb"),
        conf_set_refresh_cb: sym!("rd_kafka_conf_set_oauthbearer_token_refresh_cb"),
        conf_set_opaque: sym!("rd_kafka_conf_set_opaque"),
        new: sym!("rd_kafka_new"),
        destroy: sym!("rd_kafka_destroy"),
        poll: sym!("rd_kafka_poll"),
        set_token: sym!("rd_kafka_oauthbearer_set_token"),
        topic_new: sym!("rd_kafka_topic_new"),
        topic_destroy: sym!("rd_kafka_topic_destroy"),
        metadata: sym!("rd_kafka_metadata"),
        metadata_destroy: sym!("rd_kafka_metadata_destroy"),
        partition_list_new: sym!("rd_kafka_topic_partition_list_new"),
        partition_list_add: sym!("rd_kafka_topic_partition_list_add"),
        partition_list_destroy: sym!("rd_kafka_topic_partition_list_destroy"),
        committed: sym!("rd_kafka_committed"),
        opaque: sym!("rd_kafka_opaque"),
        _library: std::mem::ManuallyDrop::new(library),
    })
}

/// # Safety
/// `p` is NULL or a NUL-terminated string.
unsafe fn cstr(p: *const c_char) -> String {
    if p.is_null() {
        String::new()
    } else {
        // SAFETY: per the contract.
        unsafe { CStr::from_ptr(p) }.to_string_lossy().into_owned()
    }
}

/// Where and how to connect.
#[derive(Debug, Clone, Default)]
pub struct BrokerOptions {
    /// `bootstrap.servers`.
    pub bootstrap: String,
    /// `security.protocol` (`SASL_SSL` or `SASL_PLAINTEXT`).
    pub security_protocol: String,
    /// `ssl.ca.location`.
    pub ca_location: Option<String>,
    /// A topic whose Describe permission is checked (metadata request).
    pub topic: Option<String>,
    /// A consumer group whose Describe permission is checked
    /// (DescribeGroups).
    pub group: Option<String>,
    /// How long to wait for the broker.
    pub timeout: Duration,
}

/// What the broker said, step by step (`None`: not checked).
#[derive(Debug, Clone)]
pub struct BrokerVerdict {
    /// Whether a broker answered at all (TCP and TLS).
    pub connected: Result<(), String>,
    /// SASL/OAUTHBEARER authentication with the token.
    pub authenticated: Result<(), String>,
    /// The topic's metadata (Describe), with the Kafka error code.
    pub topic: Option<Result<(), (c_int, String)>>,
    /// The group's description (Describe), with the Kafka error code.
    pub group: Option<Result<(), (c_int, String)>>,
}

/// Errors the error callback saw.
#[derive(Default)]
struct Seen {
    errors: Vec<(c_int, String)>,
}

unsafe extern "C" fn on_error(
    _rk: *mut c_void,
    err: c_int,
    reason: *const c_char,
    opaque: *mut c_void,
) {
    let _ = std::panic::catch_unwind(|| {
        if opaque.is_null() {
            return;
        }
        // SAFETY: opaque is the Mutex<Seen> of `check_broker`, alive until
        // the handle is destroyed; reason is a NUL-terminated string.
        let (seen, reason) = unsafe { (&*(opaque as *const Mutex<Seen>), cstr(reason)) };
        if let Ok(mut s) = seen.lock() {
            if s.errors.len() < 64 {
                s.errors.push((err, reason));
            }
        }
    });
}

/// librdkafka's own log lines are not shown (the doctor's output stays
/// short); the consumer group's debug lines are read for the one verdict
/// librdkafka reports nowhere else: FindCoordinator's
/// GROUP_AUTHORIZATION_FAILED (it retries the lookup until the call times
/// out).
unsafe extern "C" fn on_log(
    rk: *const c_void,
    _level: c_int,
    _fac: *const c_char,
    buf: *const c_char,
) {
    let _ = std::panic::catch_unwind(|| {
        // SAFETY: buf is a NUL-terminated line; the opaque is the
        // Mutex<Seen> of `check_broker` (or NULL before it is set).
        let line = unsafe { cstr(buf) };
        if !line.contains("GROUP_AUTHORIZATION_FAILED") {
            return;
        }
        let opaque = match OPAQUE.get() {
            Some(f) => unsafe { f(rk) },
            None => return,
        };
        if opaque.is_null() {
            return;
        }
        let seen = unsafe { &*(opaque as *const Mutex<Seen>) };
        if let Ok(mut s) = seen.lock() {
            if s.errors.len() < 64 {
                s.errors.push((ERR_GROUP_AUTHORIZATION_FAILED, line));
            }
        }
    });
}

/// `rd_kafka_opaque`, for the log callback (a plain function pointer: the
/// library stays open for the process's life once a check ran).
static OPAQUE: std::sync::OnceLock<unsafe extern "C" fn(*const c_void) -> *mut c_void> =
    std::sync::OnceLock::new();

/// The token is set right after the handle is created; the refresh events
/// that follow need nothing more within the check.
unsafe extern "C" fn on_refresh(_rk: *mut c_void, _config: *const c_char, _opaque: *mut c_void) {}

impl Librdkafka {
    /// Authenticates to the broker with `jwt` (as principal `principal`),
    /// then asks for the topic's metadata and the group's description.
    /// The token goes only to librdkafka, never into a message.
    pub fn check_broker(
        &self,
        opts: &BrokerOptions,
        jwt: &str,
        principal: &str,
    ) -> Result<BrokerVerdict, String> {
        let api = &self.api;
        // The library is never closed (`Api::_library`), so the pointer
        // stays valid.
        let _ = OPAQUE.set(*api.opaque);
        let seen: Box<Mutex<Seen>> = Box::default();
        let mut errstr = [0 as c_char; 512];
        // SAFETY: every call below follows librdkafka's API contract; the
        // handle is destroyed before `seen` is dropped.
        unsafe {
            let conf = (api.conf_new)();
            let mut set = |k: &str, v: &str| -> Result<(), String> {
                let (ck, cv) = (
                    CString::new(k).map_err(|e| e.to_string())?,
                    CString::new(v).map_err(|e| e.to_string())?,
                );
                if (api.conf_set)(
                    conf,
                    ck.as_ptr(),
                    cv.as_ptr(),
                    errstr.as_mut_ptr(),
                    errstr.len(),
                ) != 0
                {
                    return Err(format!("{k}: {}", cstr(errstr.as_ptr())));
                }
                Ok(())
            };
            let configured = (|| {
                set("bootstrap.servers", &opts.bootstrap)?;
                set("security.protocol", &opts.security_protocol)?;
                set("sasl.mechanism", "OAUTHBEARER")?;
                if let Some(ca) = &opts.ca_location {
                    set("ssl.ca.location", ca)?;
                }
                set("client.id", "kafka-iam-oauth-doctor")?;
                set(
                    "group.id",
                    opts.group.as_deref().unwrap_or("kafka-iam-oauth-doctor"),
                )?;
                set("enable.auto.commit", "false")?;
                set("allow.auto.create.topics", "false")?;
                if opts.group.is_some() {
                    set("debug", "cgrp")?;
                }
                set("reconnect.backoff.max.ms", "1000")
            })();
            if let Err(e) = configured {
                (api.conf_destroy)(conf);
                return Err(e);
            }
            (api.conf_set_error_cb)(conf, on_error);
            (api.conf_set_log_cb)(conf, on_log);
            (api.conf_set_refresh_cb)(conf, on_refresh);
            (api.conf_set_opaque)(conf, &*seen as *const Mutex<Seen> as *mut c_void);
            let rk = (api.new)(CONSUMER, conf, errstr.as_mut_ptr(), errstr.len());
            if rk.is_null() {
                (api.conf_destroy)(conf);
                return Err(format!(
                    "librdkafka refused the configuration: {}",
                    cstr(errstr.as_ptr())
                ));
            }
            let verdict = self.check_with(rk, opts, jwt, principal, &seen);
            (api.destroy)(rk);
            verdict
        }
    }

    /// # Safety
    /// `rk` is a live handle whose opaque is `seen`.
    unsafe fn check_with(
        &self,
        rk: *mut c_void,
        opts: &BrokerOptions,
        jwt: &str,
        principal: &str,
        seen: &Mutex<Seen>,
    ) -> Result<BrokerVerdict, String> {
        let api = &self.api;
        let mut errstr = [0 as c_char; 512];
        let value = CString::new(jwt).map_err(|_| "the token has a NUL byte".to_string())?;
        let who = CString::new(if principal.is_empty() {
            "unknown"
        } else {
            principal
        })
        .map_err(|_| "the principal has a NUL byte".to_string())?;
        // librdkafka refuses an expired lifetime; the broker judges the
        // token's own `exp`, so the lifetime given here is a minute ahead.
        let lifetime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64 + 60_000)
            .unwrap_or(i64::MAX);
        // SAFETY: valid strings and buffer.
        let res = unsafe {
            (api.set_token)(
                rk,
                value.as_ptr(),
                lifetime,
                who.as_ptr(),
                std::ptr::null(),
                0,
                errstr.as_mut_ptr(),
                errstr.len(),
            )
        };
        if res != 0 {
            return Err(format!("librdkafka refused the token: {}", unsafe {
                cstr(errstr.as_ptr())
            }));
        }
        let started = Instant::now();
        let deadline = started + opts.timeout;
        let mut verdict = BrokerVerdict {
            connected: Err(String::new()),
            authenticated: Err(String::new()),
            topic: None,
            group: None,
        };
        // Brokers-only metadata until it succeeds, an authentication error
        // is seen, or the deadline.
        loop {
            let mut md: *const Metadata = std::ptr::null();
            // SAFETY: md receives an allocation we destroy below.
            let err = unsafe { (api.metadata)(rk, 0, std::ptr::null_mut(), &mut md, 1000) };
            if !md.is_null() {
                unsafe { (api.metadata_destroy)(md) };
            }
            unsafe { (api.poll)(rk, 0) };
            let errors = seen.lock().map(|s| s.errors.clone()).unwrap_or_default();
            if err == 0 {
                verdict.connected = Ok(());
                verdict.authenticated = Ok(());
                break;
            }
            if let Some((_, reason)) = errors.iter().find(|(e, _)| *e == ERR_AUTHENTICATION) {
                verdict.connected = Ok(());
                verdict.authenticated = Err(reason.clone());
                return Ok(verdict);
            }
            // Every broker down for a while (refused, unresolvable, TLS
            // failing) is the verdict: no need to wait out the timeout.
            let all_down = errors.iter().any(|(e, _)| *e == ERR_ALL_BROKERS_DOWN)
                && started.elapsed() >= ALL_DOWN_GRACE;
            if all_down || Instant::now() >= deadline {
                let transport: Vec<&String> = errors
                    .iter()
                    .filter(|(e, _)| {
                        [ERR_TRANSPORT, ERR_ALL_BROKERS_DOWN, ERR_RESOLVE, ERR_SSL].contains(e)
                    })
                    .map(|(_, r)| r)
                    .collect();
                let why = match transport.first() {
                    Some(r) => (*r).clone(),
                    None => format!(
                        "no answer within {} s ({})",
                        opts.timeout.as_secs(),
                        self.err2str(err)
                    ),
                };
                verdict.connected = Err(why.clone());
                verdict.authenticated = Err(why);
                return Ok(verdict);
            }
        }
        if let Some(topic) = &opts.topic {
            let name =
                CString::new(topic.as_str()).map_err(|_| "topic has a NUL byte".to_string())?;
            let rkt = unsafe { (api.topic_new)(rk, name.as_ptr(), std::ptr::null_mut()) };
            let mut md: *const Metadata = std::ptr::null();
            let wait = remaining(deadline);
            let err = unsafe { (api.metadata)(rk, 0, rkt, &mut md, wait) };
            let result = if err != 0 {
                Err((err, self.err2str(err)))
            } else {
                // SAFETY: a successful call filled md.
                let md = unsafe { &*md };
                let topics = if md.topics.is_null() {
                    &[][..]
                } else {
                    unsafe { std::slice::from_raw_parts(md.topics, md.topic_cnt.max(0) as usize) }
                };
                match topics.iter().find(|t| unsafe { cstr(t.topic) } == *topic) {
                    Some(t) if t.err == 0 => Ok(()),
                    Some(t) => Err((t.err, self.err2str(t.err))),
                    None => Err((ERR_UNKNOWN_TOPIC, self.err2str(ERR_UNKNOWN_TOPIC))),
                }
            };
            if !md.is_null() {
                unsafe { (api.metadata_destroy)(md) };
            }
            if !rkt.is_null() {
                unsafe { (api.topic_destroy)(rkt) };
            }
            verdict.topic = Some(result);
        }
        if let Some(group) = &opts.group {
            // OffsetFetch for the group: the broker checks Describe on the
            // group (FindCoordinator, then OffsetFetch) before anything else.
            let topic = CString::new(opts.topic.as_deref().unwrap_or("kafka-iam-oauth-doctor"))
                .map_err(|_| "topic has a NUL byte".to_string())?;
            let list = unsafe { (api.partition_list_new)(1) };
            unsafe { (api.partition_list_add)(list, topic.as_ptr(), 0) };
            let result = loop {
                let err = unsafe { (api.committed)(rk, list, 1000) };
                unsafe { (api.poll)(rk, 0) };
                let denied = seen.lock().ok().and_then(|s| {
                    s.errors
                        .iter()
                        .find(|(e, _)| *e == ERR_GROUP_AUTHORIZATION_FAILED)
                        .cloned()
                });
                match (err, denied) {
                    (_, Some(d)) => break Err(d),
                    (0, None) => break Ok(()),
                    (ERR_TIMED_OUT, None) if Instant::now() < deadline => continue,
                    (e, None) => break Err((e, format!("{} ({group})", self.err2str(e)))),
                }
            };
            unsafe { (api.partition_list_destroy)(list) };
            verdict.group = Some(result);
        }
        Ok(verdict)
    }
}

/// Milliseconds left until `deadline`, at least one second.
fn remaining(deadline: Instant) -> c_int {
    deadline
        .saturating_duration_since(Instant::now())
        .as_millis()
        .clamp(1000, c_int::MAX as u128) as c_int
}

//! The librdkafka functions this library calls, resolved at run time with
//! typed symbols (`libloading`), once per process.
//!
//! The library does not link librdkafka: the plugin is opened by librdkafka
//! with `RTLD_NOW | RTLD_LOCAL`, and where librdkafka itself was loaded
//! privately its symbols are not global: confluent-kafka-python's wheel
//! (a private `librdkafka-<hash>.so.1`), or a Node addon that links
//! librdkafka statically and is loaded, like every addon, with local scope
//! (confluent-kafka-javascript's prebuilt binary). So the lookup goes: first
//! the global scope (a program linked with `-lrdkafka`, kcat, a Go or C
//! program), then every object already mapped in this process whose own
//! dynamic symbol table defines `rd_kafka_conf_get` (a librdkafka shared
//! object, or any object that links librdkafka and exports its API), opened
//! with `RTLD_NOLOAD` so that nothing new is ever loaded.

use crate::ffi::{boundary, Or};
use libloading::os::unix::{Library, Symbol};
use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::OnceLock;

/// `rd_kafka_conf_t`.
pub(crate) type Conf = c_void;
/// `rd_kafka_t`.
pub(crate) type Rk = c_void;

/// `RD_KAFKA_RESP_ERR_NO_ERROR`.
pub(crate) const RESP_OK: c_int = 0;
/// `RD_KAFKA_RESP_ERR__INVALID_ARG`.
pub(crate) const RESP_INVALID_ARG: c_int = -186;
/// `RD_KAFKA_RESP_ERR__CONFLICT`: an interceptor of that name exists.
pub(crate) const RESP_CONFLICT: c_int = -173;
/// `RD_KAFKA_CONF_OK`.
pub(crate) const CONF_OK: c_int = 0;
/// `RD_KAFKA_CONF_INVALID`.
pub(crate) const CONF_INVALID: c_int = -1;
/// `RD_KAFKA_CONF_UNKNOWN`: "not ours, let librdkafka handle it".
pub(crate) const CONF_UNKNOWN: c_int = -2;
/// `RD_KAFKA_THREAD_MAIN`.
pub(crate) const THREAD_MAIN: c_int = 0;

/// `rd_kafka_conf_set_oauthbearer_token_refresh_cb`'s callback.
pub(crate) type RefreshCb = unsafe extern "C" fn(*mut Rk, *const c_char, *mut c_void);
/// `rd_kafka_interceptor_f_on_new_t`.
pub(crate) type OnNew =
    unsafe extern "C" fn(*mut Rk, *const Conf, *mut c_void, *mut c_char, usize) -> c_int;
/// `rd_kafka_interceptor_f_on_conf_set_t`.
pub(crate) type OnConfSet = unsafe extern "C" fn(
    *mut Conf,
    *const c_char,
    *const c_char,
    *mut c_char,
    usize,
    *mut c_void,
) -> c_int;
/// `rd_kafka_interceptor_f_on_conf_dup_t`.
pub(crate) type OnConfDup =
    unsafe extern "C" fn(*mut Conf, *const Conf, usize, *mut *const c_char, *mut c_void) -> c_int;
/// `rd_kafka_interceptor_f_on_thread_start_t`.
pub(crate) type OnThreadStart =
    unsafe extern "C" fn(*mut Rk, c_int, *const c_char, *mut c_void) -> c_int;

/// The resolved functions; each field has the C signature of the librdkafka
/// function it is named after (librdkafka's public API, 1.9 or newer).
pub(crate) struct Rdkafka {
    /// Keeps the object the symbols came from open for the process's life.
    _library: Library,
    pub conf_get:
        Symbol<unsafe extern "C" fn(*const Conf, *const c_char, *mut c_char, *mut usize) -> c_int>,
    pub set_refresh_cb: Symbol<unsafe extern "C" fn(*mut Conf, Option<RefreshCb>)>,
    pub enable_sasl_queue: Symbol<unsafe extern "C" fn(*mut Conf, c_int)>,
    pub add_on_new:
        Symbol<unsafe extern "C" fn(*mut Conf, *const c_char, OnNew, *mut c_void) -> c_int>,
    pub add_on_conf_set:
        Symbol<unsafe extern "C" fn(*mut Conf, *const c_char, OnConfSet, *mut c_void) -> c_int>,
    pub add_on_conf_dup:
        Symbol<unsafe extern "C" fn(*mut Conf, *const c_char, OnConfDup, *mut c_void) -> c_int>,
    pub add_on_thread_start:
        Symbol<unsafe extern "C" fn(*mut Rk, *const c_char, OnThreadStart, *mut c_void) -> c_int>,
    pub background_enable: Symbol<unsafe extern "C" fn(*mut Rk) -> *mut c_void>,
    pub error_code: Symbol<unsafe extern "C" fn(*const c_void) -> c_int>,
    pub error_string: Symbol<unsafe extern "C" fn(*const c_void) -> *const c_char>,
    pub error_destroy: Symbol<unsafe extern "C" fn(*mut c_void)>,
    pub rk_conf: Symbol<unsafe extern "C" fn(*mut Rk) -> *const Conf>,
    #[allow(clippy::type_complexity)]
    pub set_token: Symbol<
        unsafe extern "C" fn(
            *mut Rk,
            *const c_char,
            i64,
            *const c_char,
            *const *const c_char,
            usize,
            *mut c_char,
            usize,
        ) -> c_int,
    >,
    pub set_token_failure: Symbol<unsafe extern "C" fn(*mut Rk, *const c_char) -> c_int>,
}

/// The process's librdkafka, resolved on first use. The error says what is
/// missing (no librdkafka in the process, or one too old).
pub(crate) fn rdkafka() -> Result<&'static Rdkafka, String> {
    static RD: OnceLock<Result<Rdkafka, String>> = OnceLock::new();
    RD.get_or_init(resolve).as_ref().map_err(Clone::clone)
}

fn resolve() -> Result<Rdkafka, String> {
    let global = Library::this();
    // SAFETY: only looks a name up; the type is not used.
    let (library, copy) = if unsafe { global.get::<*mut c_void>(b"rd_kafka_conf_get") }.is_ok() {
        (global, None)
    } else {
        let copy = loaded_librdkafkas().into_iter().next().ok_or(
            "no librdkafka found in this process (the plugin must be loaded by librdkafka)",
        )?;
        (open_loaded(&copy.name)?, Some(copy))
    };
    let from = copy
        .as_ref()
        .map_or_else(String::new, |c| format!(" ({})", c.display()));
    // In an object found by the scan each function must be that object's
    // own: a lookup through its handle also searches its dependencies,
    // which may hold another copy.
    let own = |name: &[u8]| {
        copy.as_ref().is_none_or(|c| {
            // SAFETY: only looks a name up; the address is not called.
            unsafe { library.get::<*mut c_void>(name) }
                .ok()
                .and_then(|s| defining_object(*s))
                .is_some_and(|(base, _)| base == c.base)
        })
    };
    /// Looks a function up; the field it is assigned to names its type.
    macro_rules! sym {
        ($name:literal) => {{
            let name = concat!($name, "\0").as_bytes();
            let lacks = || {
                format!(
                    "this librdkafka{from} lacks {} (librdkafka 1.9 or newer is needed)",
                    $name
                )
            };
            if !own(name) {
                return Err(lacks());
            }
            // SAFETY: every field's type is the C signature of the
            // librdkafka function of that name (see the struct).
            unsafe { library.get(name) }.map_err(|_| lacks())?
        }};
    }
    Ok(Rdkafka {
        conf_get: sym!("rd_kafka_conf_get"),
        set_refresh_cb: sym!("rd_kafka_conf_set_oauthbearer_token_refresh_cb"),
        enable_sasl_queue: sym!("rd_kafka_conf_enable_sasl_queue"),
        add_on_new: sym!("rd_kafka_conf_interceptor_add_on_new"),
        add_on_conf_set: sym!("rd_kafka_conf_interceptor_add_on_conf_set"),
        add_on_conf_dup: sym!("rd_kafka_conf_interceptor_add_on_conf_dup"),
        add_on_thread_start: sym!("rd_kafka_interceptor_add_on_thread_start"),
        background_enable: sym!("rd_kafka_sasl_background_callbacks_enable"),
        error_code: sym!("rd_kafka_error_code"),
        error_string: sym!("rd_kafka_error_string"),
        error_destroy: sym!("rd_kafka_error_destroy"),
        rk_conf: sym!("rd_kafka_conf"),
        set_token: sym!("rd_kafka_oauthbearer_set_token"),
        set_token_failure: sym!("rd_kafka_oauthbearer_set_token_failure"),
        _library: library,
    })
}

/// Opens an object already mapped in this process, by the name the loader
/// knows it by; never loads anything.
fn open_loaded(name: &CStr) -> Result<Library, String> {
    let path = name.to_str().map_err(|_| {
        format!(
            "cannot open {}: the path is not UTF-8",
            name.to_string_lossy()
        )
    })?;
    // SAFETY: RTLD_NOLOAD only returns an object already loaded (and
    // initialised); it never loads one.
    unsafe { Library::open(Some(path), libc::RTLD_NOW | libc::RTLD_NOLOAD) }
        .map_err(|e| format!("cannot open {path}: {e}"))
}

/// One librdkafka copy in this process: the object whose dynamic symbol
/// table defines `rd_kafka_conf_get`.
struct Copy {
    /// Where the object is mapped (`dladdr`'s `dli_fbase`): one per object.
    base: usize,
    /// The loader's name for it (a path; empty for the main program).
    name: CString,
}

impl Copy {
    fn display(&self) -> String {
        if self.name.is_empty() {
            "the main program".to_owned()
        } else {
            self.name.to_string_lossy().into_owned()
        }
    }
}

/// The object that defines the symbol at `address`: its base and name.
fn defining_object(address: *mut c_void) -> Option<(usize, CString)> {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    // SAFETY: dladdr only reads the loader's tables and fills `info`.
    if address.is_null() || unsafe { libc::dladdr(address, info.as_mut_ptr()) } == 0 {
        return None;
    }
    // SAFETY: dladdr succeeded, so `info` is filled.
    let info = unsafe { info.assume_init() };
    let name = if info.dli_fname.is_null() {
        CString::default()
    } else {
        // SAFETY: dli_fname is the loader's NUL-terminated name.
        unsafe { CStr::from_ptr(info.dli_fname) }.to_owned()
    };
    Some((info.dli_fbase as usize, name))
}

/// Refuses when more than one librdkafka is loaded in this process (e.g.
/// the system's `librdkafka.so.1` linked by the program and the private
/// copy in confluent-kafka's wheel, or in a Node addon that links it
/// statically). Every object this library touches belongs to the copy that
/// created it, and calling one copy's functions on the other's objects
/// corrupts memory; librdkafka does not tell a plugin which copy called it,
/// so this library does not guess. Checked on every attach (a second copy
/// may be loaded at any time); callbacks on configurations attached while
/// one copy was loaded keep using it.
pub(crate) fn one_copy_loaded() -> Result<(), String> {
    let copies = loaded_librdkafkas();
    if copies.len() <= 1 {
        return Ok(());
    }
    let names: Vec<String> = copies.iter().take(4).map(Copy::display).collect();
    Err(format!(
        "{} copies of librdkafka are loaded in this process ({}); this library cannot tell \
         which one called it and will not guess (one copy's functions on the other's objects \
         corrupt memory). Load only one: e.g. do not link or LD_PRELOAD the system \
         librdkafka into a process that uses confluent-kafka's wheel, or build confluent-kafka \
         against the system librdkafka (pip install --no-binary confluent-kafka confluent-kafka); \
         in Node, load one addon that carries librdkafka per process",
        copies.len(),
        names.join(", ")
    ))
}

/// Every librdkafka copy loaded in this process, in load order: each object
/// the loader has mapped (`dl_iterate_phdr`; the main program through the
/// global scope) whose dynamic symbol table defines `rd_kafka_conf_get`:
/// librdkafka.so.1, a wheel's librdkafka-<hash>.so.1, or an object that
/// links librdkafka statically and exports its API (as objects built from
/// librdkafka's archive do unless told to hide it). Not librdkafka++ nor a
/// binding that only calls librdkafka: neither defines the symbol. Each
/// object is looked up through its own handle and the definition's object
/// found with `dladdr`, so a copy counts once however many objects reach it.
fn loaded_librdkafkas() -> Vec<Copy> {
    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut c_void,
    ) -> c_int {
        boundary(Or(0), || -> Result<c_int, kafka_iam_oauth::Error> {
            // SAFETY: called by dl_iterate_phdr with a valid entry; `data`
            // is the Vec<CString> below.
            let (info, names) = unsafe { (&*info, &mut *(data as *mut Vec<CString>)) };
            if !info.dlpi_name.is_null() {
                // SAFETY: dlpi_name is a NUL-terminated name.
                let name = unsafe { CStr::from_ptr(info.dlpi_name) };
                if !name.is_empty() {
                    names.push(name.to_owned());
                }
            }
            Ok(0)
        })
    }
    let mut names: Vec<CString> = Vec::new();
    // SAFETY: the callback only reads the entries it is handed. The objects
    // are opened after the walk: the loader's lock is held during it.
    unsafe { libc::dl_iterate_phdr(Some(visit), (&mut names as *mut Vec<CString>).cast()) };
    let mut copies: Vec<Copy> = Vec::new();
    let global = std::iter::once(Some(Library::this()));
    let objects = names.iter().map(|n| open_loaded(n).ok());
    for library in global.chain(objects).flatten() {
        // SAFETY: only looks a name up; the address is not called.
        let Ok(symbol) = (unsafe { library.get::<*mut c_void>(b"rd_kafka_conf_get") }) else {
            continue;
        };
        if let Some((base, name)) = defining_object(*symbol) {
            if !copies.iter().any(|c| c.base == base) {
                copies.push(Copy { base, name });
            }
        }
    }
    copies
}

impl Rdkafka {
    /// Reads a string property whole, as bytes without the NUL; `None` when
    /// unset, empty or unknown to this librdkafka build.
    ///
    /// # Safety
    /// `conf` is a live `rd_kafka_conf_t`.
    pub(crate) unsafe fn conf_bytes(&self, conf: *const Conf, name: &CStr) -> Option<Vec<u8>> {
        let mut size = 0usize;
        // SAFETY: a NULL destination only asks for the size (NUL included).
        let res = unsafe { (self.conf_get)(conf, name.as_ptr(), std::ptr::null_mut(), &mut size) };
        if res != CONF_OK || size <= 1 {
            return None;
        }
        let mut buf = vec![0u8; size];
        // SAFETY: buffer and size describe writable memory.
        let res =
            unsafe { (self.conf_get)(conf, name.as_ptr(), buf.as_mut_ptr().cast(), &mut size) };
        if res != CONF_OK {
            return None;
        }
        let len = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
        buf.truncate(len);
        (!buf.is_empty()).then_some(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_librdkafka_in_the_test_binary_is_not_two() {
        assert!(loaded_librdkafkas().len() <= 1);
        assert!(one_copy_loaded().is_ok());
    }

    #[test]
    fn a_privately_loaded_librdkafka_is_one_copy_named_by_its_path() {
        // Debian's librdkafka1 (make deps), with local scope as a binding
        // loads it; opened by soname, so the loader names it by its path.
        // SAFETY: librdkafka's initialisers have no preconditions.
        let _private = unsafe { Library::open(Some("librdkafka.so.1"), libc::RTLD_NOW) }
            .expect("librdkafka.so.1 (Debian's librdkafka1, make deps)");
        let copies = loaded_librdkafkas();
        assert_eq!(
            copies.len(),
            1,
            "{:?}",
            copies.iter().map(Copy::display).collect::<Vec<_>>()
        );
        assert!(
            copies[0].display().ends_with("/librdkafka.so.1"),
            "{}",
            copies[0].display()
        );
        assert!(one_copy_loaded().is_ok());
    }
}

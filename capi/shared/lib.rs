//! `libkafka_iam_oauth.so`: the C ABI (`kafka_iam_oauth_*`) plus the
//! librdkafka plugin entry point `conf_init`, which librdkafka looks up by
//! that exact name in every library listed in `plugin.library.paths`.

use std::ffi::{c_char, c_int, c_void};

pub use kafka_iam_oauth_capi::*;

/// The plugin entry point librdkafka calls for `plugin.library.paths`; see
/// [`kafka_iam_oauth_capi::rdkafka::plugin_conf_init`].
///
/// # Safety
/// Called by librdkafka with its configuration object and an error buffer
/// of `errstr_size` bytes.
#[no_mangle]
pub unsafe extern "C" fn conf_init(
    conf: *mut c_void,
    plug_opaquep: *mut *mut c_void,
    errstr: *mut c_char,
    errstr_size: usize,
) -> c_int {
    // SAFETY: forwarded unchanged; the callee is an FFI boundary itself.
    unsafe { kafka_iam_oauth_capi::plugin_conf_init(conf, plug_opaquep, errstr, errstr_size) }
}

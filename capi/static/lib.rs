//! `libkafka_iam_oauth.a`: the C ABI (`kafka_iam_oauth_*`) for static
//! linking. It deliberately has no `conf_init`: a generic symbol like that
//! would collide with any other librdkafka plugin linked into the same
//! program. The plugin entry lives in the shared library only.

pub use kafka_iam_oauth_capi::*;

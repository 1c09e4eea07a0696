// The shared library's SONAME carries the ABI's major version, so programs
// linked against it keep working across compatible upgrades and refuse an
// incompatible one (installed as libkafka_iam_oauth.so.MAJOR.MINOR.PATCH
// with the links libkafka_iam_oauth.so.MAJOR and libkafka_iam_oauth.so).
fn main() {
    let target_os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    if target_os == "linux" || target_os == "android" || target_os.ends_with("bsd") {
        let major = std::env::var("CARGO_PKG_VERSION_MAJOR").unwrap_or_else(|_| "0".into());
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libkafka_iam_oauth.so.{major}");
    }
}

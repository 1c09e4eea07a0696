//! napi-build's linker setup (on Linux: nothing to link; Node provides the
//! `napi_*` symbols when it loads the addon).
fn main() {
    napi_build::setup();
}

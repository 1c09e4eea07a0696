//! Local AWS STS emulator and JWKS issuer (skeleton; implementation in progress).

use std::io;

/// Start-up options of the emulator.
#[derive(Debug, Clone, Default)]
pub struct EmulatorOptions {}

/// Entry point: `Emulator::start(EmulatorOptions::default())`.
pub struct Emulator;

/// A running emulator; stops on drop.
pub struct RunningEmulator {
    url: String,
}

impl Emulator {
    /// Starts the emulator on its own runtime thread.
    pub fn start(_options: EmulatorOptions) -> io::Result<RunningEmulator> {
        Err(io::Error::other("emulator not implemented yet"))
    }
}

impl RunningEmulator {
    /// Base URL, e.g. `http://127.0.0.1:PORT`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

//! `serve --token-file PATH [--once]`: keeps PATH holding a valid token for
//! Kafka's Java clients (`sasl.oauthbearer.token.endpoint.url=file://PATH`),
//! which re-read it at each login refresh.
//!
//! - Each new token replaces the file atomically: written to a temporary
//!   file in the same directory (mode 0600), synced, renamed over PATH; a
//!   reader sees the old token or the new one, never a partial file.
//! - One `serve` per file: an exclusive `flock` on `.NAME.lock` beside it;
//!   a second one refuses (exit 2).
//! - Through an STS outage the file keeps the last valid token; once that
//!   expires the file is left and the command says so, and keeps trying.
//! - SIGTERM / SIGINT end it with status 0 (the file stays).
//! - Logs (stderr) say when and for whom a token was written, never the
//!   token.

use crate::{rfc3339, CliResult, Failure, Output, Settings, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use clap::Args;
use kafka_iam_oauth::{Provider, Token};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How often the cache is asked for the current token: the cache refreshes
/// ahead of expiry, so this only bounds how late a new token reaches the
/// file after the refresh.
const POLL: Duration = Duration::from_secs(1);
/// How quickly a signal is noticed.
const SIGNAL_NAP: Duration = Duration::from_millis(50);

#[derive(Args, Debug)]
pub(crate) struct ServeArgs {
    /// The file to keep holding a valid token (its directory must be writable)
    #[arg(long, value_name = "PATH")]
    token_file: PathBuf,
    /// Write one token and exit (init containers, cron)
    #[arg(long)]
    once: bool,
}

pub(crate) fn run(out: &Output, settings: &Settings, args: &ServeArgs) -> CliResult {
    let config = settings.parsed()?;
    let path = &args.token_file;
    let name = path
        .file_name()
        .ok_or_else(|| Failure::usage(format!("--token-file {}: not a file name", path.display())))?
        .to_string_lossy()
        .into_owned();
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let _lock = lock(&dir, &name, path)?;
    let signals = Signals::install();
    let provider = Provider::from_config(config);
    let mut state = State {
        out,
        path,
        dir: &dir,
        name: &name,
        written: None,
        failing: false,
        reported_expiry: false,
        failures_seen: 0,
    };
    let code = loop {
        match provider.token() {
            Ok(token) => {
                if let Err(f) = state.publish(&token) {
                    break f;
                }
                state.background_failures(&provider);
                if args.once {
                    break EXIT_OK;
                }
            }
            Err(e) => {
                state.failed(&e, provider.stats().failures);
                if args.once {
                    out.error(
                        EXIT_FAILED,
                        crate::error_kind_name(e.kind()),
                        e.message(),
                        e.aws_code(),
                    );
                    break EXIT_FAILED;
                }
            }
        }
        if let Some(sig) = signals.wait(POLL) {
            log(&format!(
                "stopping on {sig}; {} is left as it is",
                path.display()
            ));
            break EXIT_OK;
        }
    };
    signals.restore();
    Ok(code)
}

/// What has been written and reported so far.
struct State<'a> {
    out: &'a Output,
    path: &'a Path,
    dir: &'a Path,
    name: &'a str,
    /// The token now in the file.
    written: Option<Arc<Token>>,
    /// Whether the last refresh failed (the next token written says STS
    /// answers again).
    failing: bool,
    /// Whether the expiry of the token in the file has been reported.
    reported_expiry: bool,
    /// Failed mints counted so far (`Provider::stats`), so each failed
    /// background refresh is logged while the file still holds a token.
    failures_seen: u64,
}

impl State<'_> {
    /// Writes `token` unless it is the one already in the file. Returns
    /// the exit status when the file cannot be written.
    fn publish(&mut self, token: &Arc<Token>) -> Result<(), i32> {
        if self
            .written
            .as_ref()
            .is_some_and(|w| w.value() == token.value())
        {
            return Ok(());
        }
        if let Err(e) = write_atomically(self.dir, self.name, self.path, token.value()) {
            let message = format!("cannot write {}: {e}", self.path.display());
            self.out.error(EXIT_USAGE, "io", &message, None);
            return Err(EXIT_USAGE);
        }
        let recovered = std::mem::take(&mut self.failing);
        log(&format!(
            "{}wrote a token for User:{} to {} (expires {}, in {} s; next refresh after {})",
            if recovered { "STS answers again: " } else { "" },
            token.principal(),
            self.path.display(),
            rfc3339(token.expires_at()),
            token.remaining().as_secs(),
            rfc3339(token.refresh_at()),
        ));
        self.out.json_line(&serde_json::json!({
            "event": "written",
            "token_file": self.path.display().to_string(),
            "principal": token.principal(),
            "expires_at": rfc3339(token.expires_at()),
            "expires_in_seconds": token.remaining().as_secs(),
            "refresh_at": rfc3339(token.refresh_at()),
        }));
        self.written = Some(Arc::clone(token));
        self.reported_expiry = false;
        Ok(())
    }

    /// Logs background refreshes that failed since the last look (the
    /// cache keeps serving the current token meanwhile and tries again).
    fn background_failures(&mut self, provider: &Provider) {
        let stats = provider.stats();
        if stats.failures <= self.failures_seen {
            return;
        }
        self.failures_seen = stats.failures;
        let kind = stats
            .last_error_kind
            .map(crate::error_kind_name)
            .unwrap_or("unknown");
        let retry = stats
            .next_attempt_in
            .map(|d| format!("; next attempt in {} s", d.as_secs()))
            .unwrap_or_default();
        let valid = stats.expires_in.map(|d| d.as_secs()).unwrap_or(0);
        log(&format!(
            "a background refresh failed ({kind} error){retry}; {} keeps the current token (valid {valid} s more)",
            self.path.display()
        ));
        self.failing = true;
    }

    /// Logs a failed refresh (once per STS attempt) and,
    /// once, that the token in the file has expired.
    fn failed(&mut self, e: &kafka_iam_oauth::Error, failures: u64) {
        let message = e.message().to_string();
        // Between STS attempts the cache hands back the remembered failure:
        // logged once per attempt, not once per poll.
        let repeat = self.failing && failures == self.failures_seen;
        self.failing = true;
        self.failures_seen = failures;
        if !repeat {
            let kept = match &self.written {
                Some(t) if !t.remaining().is_zero() => format!(
                    "; {} keeps the last token (valid {} s more)",
                    self.path.display(),
                    t.remaining().as_secs()
                ),
                _ => String::new(),
            };
            log(&format!("refresh failed: {message}{kept}"));
        }
        if let Some(t) = &self.written {
            if t.remaining().is_zero() && !self.reported_expiry {
                self.reported_expiry = true;
                log(&format!(
                    "the token in {} EXPIRED at {} and could not be replaced (STS: {message}); clients reading it will fail to authenticate. Still trying.",
                    self.path.display(),
                    rfc3339(t.expires_at())
                ));
                self.out.json_line(&serde_json::json!({
                    "event": "expired",
                    "token_file": self.path.display().to_string(),
                    "expired_at": rfc3339(t.expires_at()),
                    "error": {"kind": crate::error_kind_name(e.kind()), "message": message, "aws_code": e.aws_code()},
                }));
            }
        }
    }
}

/// A line on stderr, prefixed with the time.
fn log(text: &str) {
    let line = format!(
        "{} kafka-iam-oauth serve: {text}\n",
        rfc3339(std::time::SystemTime::now())
    );
    let _ = std::io::stderr().lock().write_all(line.as_bytes());
}

/// Takes `.NAME.lock` in `dir` (created 0600), or refuses: another serve
/// keeps this file, or the directory is not writable.
fn lock(dir: &Path, name: &str, path: &Path) -> Result<File, Failure> {
    let lock_path = dir.join(format!(".{name}.lock"));
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&lock_path)
        .map_err(|e| {
            Failure::usage(format!(
                "cannot keep {}: cannot create {} in {}: {e} (serve writes the token to a temporary file in the same directory and renames it, so the directory must be writable)",
                path.display(),
                lock_path.display(),
                dir.display()
            ))
        })?;
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
        let err = std::io::Error::last_os_error();
        let holder = std::fs::read_to_string(&lock_path).unwrap_or_default();
        let holder = holder.trim();
        return Err(Failure::usage(
            if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
                format!(
                "another kafka-iam-oauth serve{} already keeps {} (lock {}); refusing to run a second one on the same file",
                if holder.is_empty() { String::new() } else { format!(" (pid {holder})") },
                path.display(),
                lock_path.display()
            )
            } else {
                format!("cannot lock {}: {err}", lock_path.display())
            },
        ));
    }
    let mut f = &file;
    let _ = f.set_len(0);
    let _ = writeln!(f, "{}", std::process::id());
    Ok(file)
}

/// Writes `value` to a temporary file (0600) in `dir`, syncs it and renames
/// it over `path`.
fn write_atomically(dir: &Path, name: &str, path: &Path, value: &str) -> std::io::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)?;
        f.write_all(value.as_bytes())?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)?;
        // The rename itself is durable once the directory is synced.
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// The signal that asked `serve` to stop (0: none yet). Set by the
/// handler: storing to an atomic is async-signal-safe.
static STOP: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_stop(sig: libc::c_int) {
    STOP.store(sig, Ordering::SeqCst);
}

/// SIGTERM and SIGINT handlers for the life of `serve` (the previous ones,
/// e.g. Python's when run from the console script, come back after). A
/// handler and a flag rather than `sigtimedwait`, which macOS lacks.
struct Signals {
    old: [(libc::c_int, libc::sigaction); 2],
}

impl Signals {
    fn install() -> Signals {
        STOP.store(0, Ordering::SeqCst);
        let mut old = [
            (libc::SIGTERM, unsafe {
                std::mem::zeroed::<libc::sigaction>()
            }),
            (libc::SIGINT, unsafe { std::mem::zeroed() }),
        ];
        for (sig, previous) in old.iter_mut() {
            // SAFETY: a plain sigaction with a handler that only stores to
            // an atomic; `previous` receives the old action.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_stop as extern "C" fn(libc::c_int) as usize;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(*sig, &action, previous);
            }
        }
        Signals { old }
    }

    /// Waits up to `timeout` (in short naps); the signal's name if one came.
    fn wait(&self, timeout: Duration) -> Option<&'static str> {
        let until = Instant::now() + timeout;
        loop {
            match STOP.load(Ordering::SeqCst) {
                libc::SIGTERM => return Some("SIGTERM"),
                libc::SIGINT => return Some("SIGINT"),
                _ => {}
            }
            let now = Instant::now();
            if now >= until {
                return None;
            }
            std::thread::sleep((until - now).min(SIGNAL_NAP));
        }
    }

    fn restore(&self) {
        for (sig, previous) in &self.old {
            // SAFETY: puts back the action saved in `install`.
            unsafe { libc::sigaction(*sig, previous, std::ptr::null_mut()) };
        }
    }
}

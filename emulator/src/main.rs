//! `kafka-iam-oauth-emulator`: the command-line front of the library.
//! Prints `kafka-iam-oauth-emulator ready url=URL` once serving, and stops
//! on SIGTERM, SIGINT or `POST /_emulator/shutdown`.

use clap::Parser;
use kafka_iam_oauth_emulator::{identity_variables, Emulator, EmulatorOptions};
use std::io::Write;
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

/// A local AWS STS (GetWebIdentityToken, GetCallerIdentity, AssumeRole) and
/// JWKS issuer for tests.
#[derive(Debug, Parser)]
#[command(name = "kafka-iam-oauth-emulator", version)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", value_name = "ADDR")]
    bind: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// `iss` of the tokens and of the discovery document (default: the base URL).
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// Audience allowed by the policy (repeat for several; default: any).
    #[arg(long = "allowed-audience", value_name = "AUD")]
    allowed_audiences: Vec<String>,
    /// Largest DurationSeconds accepted.
    #[arg(long, default_value_t = 3600, value_name = "SECONDS", value_parser = clap::value_parser!(u32).range(60..))]
    max_duration_seconds: u32,
    /// Limit STS requests (every action, account-wide) to this many per
    /// second (a token bucket); beyond it STS answers `Throttling` "Rate
    /// exceeded" (HTTP 400). Default: unlimited.
    #[arg(long, value_name = "RPS", value_parser = positive_rate)]
    rate_limit_rps: Option<f64>,
    /// The rate limit's burst (bucket size); default: the rate, at least 1.
    #[arg(long, value_name = "N", requires = "rate_limit_rps", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: Option<u32>,
    /// Start with outbound web identity federation disabled.
    #[arg(long)]
    federation_disabled: bool,
    /// Also write the URL to this file (atomically) once serving.
    #[arg(long, value_name = "PATH")]
    ready_file: Option<PathBuf>,
    /// No per-request log on stderr.
    #[arg(long)]
    quiet: bool,
    /// Also start an isolated twin: a second emulator on its own port with
    /// the same signing keys and issuer (so the broker accepts its tokens)
    /// but its own faults, policy, counters and credential sources, and
    /// write its URL to PATH. Suites that wait out long lifetimes run on it
    /// beside suites that inject faults into the first one.
    #[arg(long, value_name = "PATH")]
    isolated_ready_file: Option<PathBuf>,
    /// Print the built-in identities as NAME=VALUE lines (KIO_USER_ARN=...,
    /// the variables of the harness's env.sh) and exit without serving.
    #[arg(long, exclusive = true)]
    print_identities: bool,
}

impl Cli {
    fn options(&self) -> Result<EmulatorOptions, String> {
        let rate_limit = self
            .rate_limit_rps
            .map(|rps| {
                let burst = self.rate_limit_burst.unwrap_or(rps.ceil().max(1.0) as u32);
                kafka_iam_oauth_emulator::RateLimit { rps, burst }.validated()
            })
            .transpose()
            .map_err(|e| format!("--rate-limit-rps: {e}"))?;
        let mut options = EmulatorOptions {
            bind: self.bind,
            port: self.port,
            issuer: self.issuer.clone(),
            log_requests: !self.quiet,
            rate_limit,
            ..EmulatorOptions::default()
        };
        if !self.allowed_audiences.is_empty() {
            options.policy.allowed_audiences = Some(self.allowed_audiences.clone());
        }
        options.policy.max_duration_seconds = self.max_duration_seconds;
        options.policy.federation_enabled = !self.federation_disabled;
        Ok(options)
    }
}

/// A rate for `--rate-limit-rps`: a positive, finite number.
fn positive_rate(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(r) if r.is_finite() && r > 0.0 => Ok(r),
        _ => Err(format!(
            "{s:?} is not a positive number of requests per second"
        )),
    }
}

/// Writes `url` to `path` atomically (temporary file, then rename).
fn write_ready_file(path: &PathBuf, url: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, format!("{url}\n"))?;
    std::fs::rename(&tmp, path)
}

fn run(cli: &Cli) -> Result<(), String> {
    // Signal handlers first, so a SIGTERM right after the ready line is clean.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    let (mut term, mut int) = {
        let _guard = rt.enter();
        use tokio::signal::unix::{signal, SignalKind};
        let term = signal(SignalKind::terminate()).map_err(|e| format!("SIGTERM: {e}"))?;
        let int = signal(SignalKind::interrupt()).map_err(|e| format!("SIGINT: {e}"))?;
        (term, int)
    };
    let emu = Arc::new(Emulator::start(cli.options()?).map_err(|e| format!("cannot start: {e}"))?);
    if let Some(path) = &cli.ready_file {
        write_ready_file(path, emu.url())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    // The twin shares the process-wide keys (`Keys::shared`) and takes the
    // first one's issuer, so either's tokens verify against either's JWKS.
    let twin = match &cli.isolated_ready_file {
        None => None,
        Some(path) => {
            let mut options = cli.options()?;
            options.port = 0;
            options.issuer = Some(emu.issuer().to_string());
            let twin = Emulator::start(options)
                .map_err(|e| format!("cannot start the isolated twin: {e}"))?;
            write_ready_file(path, twin.url())
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            Some(twin)
        }
    };
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "kafka-iam-oauth-emulator ready url={}", emu.url())
        .and_then(|_| match &twin {
            Some(twin) => writeln!(
                stdout,
                "kafka-iam-oauth-emulator isolated url={}",
                twin.url()
            ),
            None => Ok(()),
        })
        .and_then(|_| stdout.flush())
        .map_err(|e| format!("stdout: {e}"))?;
    drop(stdout);

    let (stopped_tx, stopped_rx) = tokio::sync::oneshot::channel::<()>();
    {
        let emu = Arc::clone(&emu);
        std::thread::spawn(move || {
            emu.wait();
            let _ = stopped_tx.send(());
        });
    }
    let why = rt.block_on(async {
        tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
            _ = stopped_rx => "POST /_emulator/shutdown",
        }
    });
    emu.shutdown();
    if let Some(twin) = twin {
        twin.shutdown();
    }
    eprintln!("kafka-iam-oauth-emulator: stopped ({why})");
    Ok(())
}

fn main() -> ExitCode {
    // Usage errors exit with 2 (message on stderr), --help with 0 (stdout).
    let cli = Cli::parse();
    if cli.print_identities {
        print!("{}", identity_variables());
        return ExitCode::SUCCESS;
    }
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kafka-iam-oauth-emulator: {e}");
            ExitCode::FAILURE
        }
    }
}

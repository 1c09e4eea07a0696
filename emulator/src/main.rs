//! `kafka-iam-oauth-emulator`: the command-line front of the library.
//! Prints `kafka-iam-oauth-emulator ready url=URL` once serving, and stops
//! on SIGTERM, SIGINT or `POST /_emulator/shutdown`.

use kafka_iam_oauth_emulator::{Emulator, EmulatorOptions};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

const USAGE: &str = "\
usage: kafka-iam-oauth-emulator [--bind 127.0.0.1] [--port 0] [--issuer URL]
    [--allowed-audience AUD]... [--max-duration-seconds 3600]
    [--federation-disabled] [--ready-file PATH] [--quiet]

A local AWS STS (GetWebIdentityToken, GetCallerIdentity, AssumeRole) and
JWKS issuer for tests. --quiet turns off the per-request log on stderr.";

struct Cli {
    options: EmulatorOptions,
    ready_file: Option<PathBuf>,
}

fn parse_args(args: impl Iterator<Item = String>) -> Result<Option<Cli>, String> {
    let mut options = EmulatorOptions {
        log_requests: true,
        ..EmulatorOptions::default()
    };
    let mut ready_file = None;
    let mut args = args.peekable();
    while let Some(arg) = args.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let mut value = |name: &str| -> Result<String, String> {
            inline
                .clone()
                .or_else(|| args.next())
                .ok_or(format!("{name} needs a value"))
        };
        match flag.as_str() {
            "-h" | "--help" => return Ok(None),
            "--bind" => {
                let v = value("--bind")?;
                options.bind = v
                    .parse()
                    .map_err(|_| format!("--bind: bad address {v:?}"))?;
            }
            "--port" => {
                let v = value("--port")?;
                options.port = v.parse().map_err(|_| format!("--port: bad port {v:?}"))?;
            }
            "--issuer" => options.issuer = Some(value("--issuer")?),
            "--allowed-audience" => {
                let v = value("--allowed-audience")?;
                options
                    .policy
                    .allowed_audiences
                    .get_or_insert_with(Vec::new)
                    .push(v);
            }
            "--max-duration-seconds" => {
                let v = value("--max-duration-seconds")?;
                options.policy.max_duration_seconds = v.parse().ok().filter(|n| *n >= 60).ok_or(
                    format!("--max-duration-seconds: need an integer >= 60, got {v:?}"),
                )?;
            }
            "--federation-disabled" => options.policy.federation_enabled = false,
            "--ready-file" => ready_file = Some(PathBuf::from(value("--ready-file")?)),
            "--quiet" => options.log_requests = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(Some(Cli {
        options,
        ready_file,
    }))
}

/// Writes `url` to `path` atomically (temporary file, then rename).
fn write_ready_file(path: &PathBuf, url: &str) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, format!("{url}\n"))?;
    std::fs::rename(&tmp, path)
}

fn run(cli: Cli) -> Result<(), String> {
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
    let emu = Arc::new(Emulator::start(cli.options).map_err(|e| format!("cannot start: {e}"))?);
    if let Some(path) = &cli.ready_file {
        write_ready_file(path, emu.url())
            .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "kafka-iam-oauth-emulator ready url={}", emu.url())
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
    eprintln!("kafka-iam-oauth-emulator: stopped ({why})");
    Ok(())
}

fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Ok(None) => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        Ok(Some(cli)) => match run(cli) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("kafka-iam-oauth-emulator: {e}");
                ExitCode::FAILURE
            }
        },
        Err(e) => {
            eprintln!("kafka-iam-oauth-emulator: {e}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

//! What both test files need: the binary run with a clean, loopback-only
//! environment and a bound on its run time.
#![allow(dead_code)]

use std::io::Read;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const BIN: &str = env!("CARGO_BIN_EXE_kafka-iam-oauth");

/// Credentials a child runs with.
#[derive(Clone)]
pub enum Creds {
    None,
    /// Access key id, secret access key, session token.
    Keys(String, String, Option<String>),
}

impl Creds {
    pub fn keys(id: &str, secret: &str) -> Creds {
        Creds::Keys(id.into(), secret.into(), None)
    }
}

/// A `kafka-iam-oauth` command with `creds` and nothing else from this
/// process's environment (no IMDS, empty AWS config files).
pub fn cli(creds: &Creds, args: &[&str]) -> Command {
    let dir = std::env::temp_dir().join(format!("kio-cli-tests-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let empty = dir.join("empty");
    std::fs::write(&empty, "").unwrap();
    let mut c = Command::new(BIN);
    c.args(args)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", &dir)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", &empty)
        .env("AWS_SHARED_CREDENTIALS_FILE", &empty)
        .stdin(Stdio::null());
    if let Some(ld) = std::env::var_os("LD_LIBRARY_PATH") {
        c.env("LD_LIBRARY_PATH", ld);
    }
    if let Creds::Keys(id, secret, session) = creds {
        c.env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
        if let Some(s) = session {
            c.env("AWS_SESSION_TOKEN", s);
        }
    }
    c
}

/// Runs `c` to completion within `bound` (killed and failed past it).
pub fn run(mut c: Command, bound: Duration) -> Output {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", c.get_program().to_string_lossy()));
    finish(child, bound)
}

/// Waits up to `bound` for `child` to exit, reading its pipes meanwhile
/// (a full pipe would stall it); its output.
pub fn finish(mut child: Child, bound: Duration) -> Output {
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut b = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut b);
            }
            b
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let started = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if started.elapsed() > bound {
            let _ = child.kill();
            panic!("a kafka-iam-oauth command ran longer than {bound:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// stdout and stderr together, for assertions and messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The `name` of each step of a `doctor --json` document, in order.
pub fn step_names(doctor: &serde_json::Value) -> Vec<&str> {
    doctor["steps"]
        .as_array()
        .expect("doctor --json has steps")
        .iter()
        .map(|s| s["name"].as_str().expect("a step has a name"))
        .collect()
}

/// The last step of a `doctor --json` document (the failed one, if any).
pub fn last_step(doctor: &serde_json::Value) -> &serde_json::Value {
    doctor["steps"]
        .as_array()
        .and_then(|s| s.last())
        .expect("doctor --json has steps")
}

/// `doctor` exited with `code` and stopped at `step` (its JSON is shown
/// when not).
pub fn assert_failed_at(
    (exit, doctor): (Option<i32>, serde_json::Value),
    code: i32,
    step: &str,
) -> serde_json::Value {
    assert_eq!(
        (exit, doctor["failed_step"].as_str()),
        (Some(code), Some(step)),
        "{doctor}"
    );
    doctor
}

//! The mint's deadline and the STS side's faults: a hung credential_process
//! is stopped at `mint_timeout_seconds` (and killed, with everything it
//! started), the error names it, and the same provider mints once the
//! profile is fixed; diagnostic output never panics, even with stderr
//! a broken pipe.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// This test binary's AWS config file (one per process: the SDK reads
/// `AWS_CONFIG_FILE` from the environment).
fn config_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        setup_env(false);
        let dir = std::env::temp_dir().join(format!("kio-sts-faults-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("config"), "").unwrap();
        std::env::set_var("AWS_CONFIG_FILE", dir.join("config"));
        dir
    })
}

/// Sets `[profile name]`'s credential_process, keeping the other
/// profiles (tests run in parallel over the one file).
fn set_profile(name: &str, command: &Path) {
    set_profile_lines(name, &format!("credential_process = {}", command.display()));
}

/// Sets `[profile name]` to `lines`, keeping the other profiles.
fn set_profile_lines(name: &str, lines: &str) {
    static PROFILES: std::sync::Mutex<Vec<(String, String)>> = std::sync::Mutex::new(Vec::new());
    let mut profiles = PROFILES.lock().unwrap();
    profiles.retain(|(n, _)| n != name);
    profiles.push((name.to_string(), lines.to_string()));
    let text: String = profiles
        .iter()
        .map(|(n, l)| format!("[profile {n}]\n{l}\n\n"))
        .collect();
    let tmp = config_dir().join("config.tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(tmp, config_dir().join("config")).unwrap();
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether `pid` is a live process (a zombie waiting for its reaper
/// counts as gone: it can no longer run).
fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => false,
        Ok(stat) => {
            // "pid (comm) S ...": the state follows the last ')'.
            let state = stat.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z') && !state.starts_with('X')
        }
    }
}

#[test]
fn hung_credential_process_is_killed_at_the_deadline_and_a_fixed_profile_mints() {
    let dir = config_dir();
    let emu = emulator();
    let pidfile = dir.join("hang.pid");
    let hang = dir.join("hang.sh");
    // Like an MFA prompt or a vault login without a timeout: writes its
    // pid, then waits for an hour in a child of its own.
    write_script(
        &hang,
        &format!("sleep 3600 &\necho $! > {}\nwait\n", pidfile.display()),
    );
    set_profile("hang", &hang);

    // Bound: the mint's deadline, 2 s here.
    let mint_timeout = Duration::from_secs(2);
    let p = provider(&emu, "hang", "profile=hang,mint_timeout_seconds=2");
    let started = Instant::now();
    let e = p
        .token()
        .expect_err("a hung credential_process cannot give a token");
    let took = started.elapsed();
    // Bound: the deadline plus 2 s for scheduling, well under the 8 s the
    // caller would wait (whose own message would say "STS did not answer").
    assert!(
        took < mint_timeout + Duration::from_secs(2),
        "the mint must end at its deadline: took {took:?}"
    );
    let msg = e.message();
    println!("after {took:?}: {msg}");
    assert!(
        msg.contains("credential_process of profile \"hang\"")
            && msg.contains("mint_timeout_seconds"),
        "{msg}"
    );
    assert!(!msg.contains("STS did not answer"), "{msg}");
    assert_eq!(sts_calls(&emu), 0, "no credentials, so no STS call");

    // The sleep the script started is killed with it (its process group).
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("the script wrote its pidfile")
        .trim()
        .parse()
        .unwrap();
    // Bound: SIGKILL is immediate; 5 s leaves room for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(pid),
        "the credential_process's sleep {pid} is still running"
    );

    // The profile is fixed: the same provider mints (the config files are
    // read again after a credentials failure).
    let fixed = dir.join("fixed.sh");
    write_script(
        &fixed,
        &format!(
            "printf '%s' '{{\"Version\":1,\"AccessKeyId\":\"{USER_KEY}\",\"SecretAccessKey\":\"{USER_SECRET}\"}}'\n"
        ),
    );
    set_profile("hang", &fixed);
    // Bound: a failed mint may be remembered for a backoff (negative
    // cache); 30 s covers it without making the test slow when it is not.
    let deadline = Instant::now() + Duration::from_secs(30);
    let token = loop {
        match p.token() {
            Ok(t) => break t,
            Err(e) if Instant::now() < deadline => {
                assert!(!e.message().contains("panicked"), "{e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the fixed profile must mint: {e}"),
        }
    };
    assert_eq!(token.principal(), USER_ARN);
}

#[test]
fn hung_credential_process_of_a_source_profile_is_killed_too() {
    let dir = config_dir();
    let emu = emulator();
    let pidfile = dir.join("chain-hang.pid");
    let hang = dir.join("chain-hang.sh");
    write_script(
        &hang,
        &format!("sleep 3600 &\necho $! > {}\nwait\n", pidfile.display()),
    );
    let role = format!(
        "arn:aws:iam::{}:role/kafka-chained",
        kafka_iam_oauth_emulator::ACCOUNT_ID
    );
    set_profile("chain-source", &hang);
    set_profile_lines(
        "chained",
        &format!(
            "role_arn = {role}\nsource_profile = chain-source\nrole_session_name = chained-test"
        ),
    );
    let mint_timeout = Duration::from_secs(2);
    let p = provider(&emu, "chained", "profile=chained,mint_timeout_seconds=2");
    let started = Instant::now();
    let e = p
        .token()
        .expect_err("a hung credential_process cannot give a token");
    let took = started.elapsed();
    // Bound: the deadline plus 2 s for scheduling.
    assert!(
        took < mint_timeout + Duration::from_secs(2),
        "took {took:?}"
    );
    let msg = e.message();
    println!("after {took:?}: {msg}");
    assert!(
        msg.contains("credential_process of profile \"chain-source\" (source_profile of profile \"chained\")"),
        "{msg}"
    );
    let pid: u32 = std::fs::read_to_string(&pidfile)
        .expect("the script wrote its pidfile")
        .trim()
        .parse()
        .unwrap();
    // Bound: SIGKILL is immediate; 5 s leaves room for a loaded machine.
    let deadline = Instant::now() + Duration::from_secs(5);
    while alive(pid) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        !alive(pid),
        "the source profile's sleep {pid} is still running"
    );

    // Fixed: the role is assumed (on the emulator) with the process's keys.
    static_profile("chain-source");
    // Bound: a remembered failure (negative cache) may delay the next
    // attempt; 30 s covers it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match p.token() {
            Ok(t) => break assert_eq!(t.principal(), role),
            Err(e) if Instant::now() < deadline => {
                assert!(!e.message().contains("panicked"), "{e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("the fixed chain must mint: {e}"),
        }
    }
    assert!(emu.stats().requests["AssumeRole"] >= 1);
}

#[test]
fn failing_credential_process_error_is_short_and_names_the_profile() {
    let dir = config_dir();
    let emu = emulator();
    let fails = dir.join("fails.sh");
    let long_line = "x".repeat(5000);
    write_script(
        &fails,
        &format!("echo 'vault: not logged in' >&2\necho '{long_line}' >&2\nexit 3\n"),
    );
    set_profile("fails", &fails);
    let p = provider(&emu, "fails", "profile=fails");
    let e = p.token().expect_err("the process fails");
    let msg = e.message();
    println!("error: {msg}");
    assert!(
        msg.contains("credential_process of profile \"fails\""),
        "{msg}"
    );
    assert!(msg.contains("vault: not logged in"), "{msg}");
    assert!(
        !msg.contains("xxxxxxxxxx"),
        "only the first line of stderr: {msg}"
    );
    // Bound: the error stays short whatever the process prints.
    assert!(msg.len() < 2000, "{} bytes: {msg}", msg.len());
}

/// A profile whose credential_process prints the emulator user's keys.
fn static_profile(name: &str) {
    let script = config_dir().join(format!("{name}.sh"));
    write_script(
        &script,
        &format!(
            "printf '%s' '{{\"Version\":1,\"AccessKeyId\":\"{USER_KEY}\",\"SecretAccessKey\":\"{USER_SECRET}\"}}'\n"
        ),
    );
    set_profile(name, &script);
}

#[test]
fn sts_that_never_answers_fails_at_the_deadline_naming_sts_then_recovers() {
    let emu = emulator();
    static_profile("slow-sts");
    // STS holds every answer for a minute (the deadline is 2 s).
    emu.set_fault(Fault::latency(Duration::from_secs(60)));
    let mint_timeout = Duration::from_secs(2);
    let p = provider(&emu, "slow-sts", "profile=slow-sts,mint_timeout_seconds=2");
    let started = Instant::now();
    let e = p.token().expect_err("STS does not answer in time");
    let took = started.elapsed();
    // Bound: the deadline plus 2 s for scheduling.
    assert!(
        took < mint_timeout + Duration::from_secs(2),
        "took {took:?}"
    );
    let msg = e.message();
    println!("after {took:?}: {msg}");
    assert!(
        msg.contains("GetWebIdentityToken") && msg.contains("mint_timeout_seconds"),
        "{msg}"
    );
    emu.reset();
    // Bound: as above, a remembered failure (negative cache) may delay the
    // next attempt; 30 s covers it.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match p.token() {
            Ok(t) => break assert_eq!(t.principal(), USER_ARN),
            Err(e) if Instant::now() < deadline => {
                assert!(!e.message().contains("panicked"), "{e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("STS is back, the provider must mint: {e}"),
        }
    }
}

/// Set in the child process of the test below.
const STDERR_CHILD: &str = "KIO_STS_FAULTS_STDERR_CHILD";

/// Runs only as the child of the test below: mints with
/// `aws_debug=console` while its stderr is a pipe nobody reads.
#[test]
fn console_debug_child() {
    if std::env::var_os(STDERR_CHILD).is_none() {
        return;
    }
    let emu = emulator();
    static_profile("console");
    let p = provider(&emu, "console", "profile=console,aws_debug=console");
    match p.token() {
        Ok(t) => println!("child minted a token for {}", t.principal()),
        Err(e) => println!("child failed: {e}"),
    }
}

#[test]
fn console_debug_with_stderr_a_closed_pipe_never_panics() {
    // Rust ignores SIGPIPE, as Python does: a write to a pipe whose reader
    // is gone fails with EPIPE, and eprintln! would panic inside the mint.
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "console_debug_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(STDERR_CHILD, "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the read end of its stderr before it writes anything.
    drop(child.stderr.take());
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("child minted a token for {USER_ARN}")),
        "the child must mint with its stderr broken: {stdout}"
    );
    assert!(out.status.success(), "{stdout}");
}

//! `credential_process`, run so that a hung one can be stopped.
//!
//! Why not the SDK's own provider: aws-config (1.13) runs the command with
//! `tokio::process::Command::output()` under `sh -c`, without
//! `kill_on_drop` and in our process group. Dropping its future (our mint
//! deadline firing) leaves the process running: a script that waits for an
//! MFA code would live as long as the Kafka client. It offers no timeout,
//! no process group and no hook to spawn the command ourselves, so for a
//! profile whose credentials come straight from `credential_process` we run
//! the command here: `sh -c <command>` in a process group of its own, with
//! bounded reads of its output; when the mint is dropped before the command
//! ends, the whole group (the shell, the script and whatever it started,
//! such as a `sleep`) gets SIGKILL.
//!
//! One role hop is covered too: a selected profile with `role_arn` whose
//! `source_profile` takes its credentials from `credential_process` (the
//! process runs here, then AssumeRole). Longer chains still go through the
//! SDK: the mint deadline bounds them, but a hung command there is left
//! running (see docs/rust.md).
//!
//! Errors carry at most a short redacted excerpt of the command's stderr,
//! never its stdout (which holds the keys).

use crate::error::{excerpt, MAX_PROCESS_EXCERPT};
use aws_credential_types::provider::{
    self, error::CredentialsError, future, ProvideCredentials, SharedCredentialsProvider,
};
use aws_credential_types::Credentials;
use parking_lot::Mutex;
use std::borrow::Cow;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::SystemTime;

/// At most this much of the command's stdout is read (the JSON is small).
const MAX_STDOUT: u64 = 64 * 1024;
/// At most this much of its stderr is kept (only an excerpt is shown).
const MAX_STDERR: u64 = 4 * 1024;

/// Profile keys that make the SDK take credentials from somewhere else
/// than the profile's own `credential_process` (aws-config's
/// `profile/credentials/repr.rs` checks them first).
const OTHER_SOURCES: &[&str] = &[
    "role_arn",
    "credential_source",
    "web_identity_token_file",
    "sso_session",
    "sso_start_url",
    "sso_account_id",
    "sso_role_name",
    "login_session",
];

/// Where the selected profile's credentials come from when a
/// `credential_process` we run is at the root of it.
pub(crate) struct ProfileProcess {
    process: ProcessProvider,
    /// The selected profile's role, when the process is its source's.
    role: Option<ProfileRole>,
}

struct ProfileRole {
    profile: String,
    arn: String,
    external_id: Option<String>,
    session_name: Option<String>,
}

impl ProfileProcess {
    /// The selected profile (profile `profile`, else `AWS_PROFILE`, else
    /// `default`, from the files the SDK reads), if the SDK would take its
    /// credentials straight from its `credential_process`, or assume its
    /// `role_arn` with credentials from its `source_profile`'s.
    pub(crate) async fn find(profile: Option<&str>) -> Option<ProfileProcess> {
        let set = aws_config::profile::load(
            &Default::default(),
            &Default::default(),
            &Default::default(),
            profile.map(|p| Cow::Owned(p.to_string())),
        )
        .await
        .ok()?;
        let name = set.selected_profile().to_string();
        let selected = set.get_profile(&name)?;
        if let Some(process) = ProcessProvider::of(selected) {
            return Some(ProfileProcess {
                process,
                role: None,
            });
        }
        // One hop: role_arn + source_profile (no credential_source, not a
        // web identity profile), the source a pure credential_process one
        // (the SDK prefers static keys in a source profile: not ours then).
        let arn = selected.get("role_arn")?;
        if selected.get("credential_source").is_some()
            || selected.get("web_identity_token_file").is_some()
        {
            return None;
        }
        let source_name = selected.get("source_profile").filter(|s| *s != name)?;
        let source = set.get_profile(source_name)?;
        if source.get("aws_access_key_id").is_some() {
            return None;
        }
        let process = ProcessProvider::of(source)?;
        Some(ProfileProcess {
            process,
            role: Some(ProfileRole {
                profile: name.clone(),
                arn: arn.to_string(),
                external_id: selected.get("external_id").map(str::to_string),
                session_name: selected.get("role_session_name").map(str::to_string),
            }),
        })
    }

    /// For messages: which command, of which profile.
    pub(crate) fn describe(&self) -> String {
        match &self.role {
            None => self.process.describe(),
            Some(role) => format!(
                "{} (source_profile of profile {:?})",
                self.process.describe(),
                role.profile
            ),
        }
    }

    /// The provider: the process, then the profile's AssumeRole if any
    /// (on `sdk`'s STS endpoint, region and timeouts).
    pub(crate) async fn provider(self, sdk: &aws_config::SdkConfig) -> SharedCredentialsProvider {
        let process = SharedCredentialsProvider::new(self.process);
        let Some(role) = self.role else {
            return process;
        };
        super::assume_role(sdk, process, &role.arn, role.session_name, role.external_id)
    }
}

/// The `credential_process` of one profile.
#[derive(Clone)]
pub(crate) struct ProcessProvider {
    profile: String,
    command: String,
}

impl std::fmt::Debug for ProcessProvider {
    // The command line may carry arguments someone considers sensitive.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProcessProvider")
            .field("profile", &self.profile)
            .finish_non_exhaustive()
    }
}

impl ProcessProvider {
    /// The profile's `credential_process`, if the SDK would take the
    /// profile's credentials straight from it.
    fn of(section: &aws_config::profile::Profile) -> Option<ProcessProvider> {
        if OTHER_SOURCES.iter().any(|k| section.get(k).is_some()) {
            return None;
        }
        let command = section.get("credential_process")?.to_string();
        Some(ProcessProvider {
            profile: section.name().to_string(),
            command,
        })
    }

    /// "credential_process of profile \"x\"", for messages.
    pub(crate) fn describe(&self) -> String {
        format!("the credential_process of profile {:?}", self.profile)
    }

    async fn load(&self) -> provider::Result {
        let what = self.describe();
        let mut command = Command::new("sh");
        command
            .args(["-c", &self.command])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own group, so the kill reaches everything it started.
            .process_group(0);
        let child = command.spawn().map_err(|e| {
            CredentialsError::provider_error(format!("{what} could not be started: {e}"))
        })?;
        let group = Arc::new(Group {
            pid: child.id() as libc::pid_t,
            reaped: Mutex::new(false),
        });
        // Armed until the command has ended: dropping this future (the mint
        // deadline, a cancelled caller) kills the group.
        let _kill = KillOnDrop(Arc::clone(&group));
        let collect = Arc::clone(&group);
        let output = tokio::task::spawn_blocking(move || collect.collect(child))
            .await
            .map_err(|e| {
                CredentialsError::provider_error(format!("{what}: the reader task failed: {e}"))
            })?
            .map_err(|e| {
                CredentialsError::provider_error(format!("{what}: reading its output failed: {e}"))
            })?;
        if !output.status.success() {
            let stderr = excerpt(
                &String::from_utf8_lossy(&output.stderr),
                MAX_PROCESS_EXCERPT,
            );
            return Err(CredentialsError::provider_error(format!(
                "{what} failed ({}){}",
                output.status,
                if stderr.is_empty() {
                    " and wrote nothing to stderr".to_string()
                } else {
                    format!("; its stderr begins: {stderr}")
                }
            )));
        }
        parse(&output.stdout).map_err(|problem| {
            // Never the output itself: it is where the keys are.
            CredentialsError::provider_error(format!(
                "{what} printed something that is not credential_process JSON: {problem}"
            ))
        })
    }
}

impl ProvideCredentials for ProcessProvider {
    fn provide_credentials<'a>(&'a self) -> future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        future::ProvideCredentials::new(self.load())
    }
}

/// The running command's process group.
struct Group {
    /// The shell's pid, which is also the group id.
    pid: libc::pid_t,
    /// Set (under the lock) just before the shell is reaped: from then on
    /// its pid, and so the group id, may be reused and must not be killed.
    reaped: Mutex<bool>,
}

struct Output {
    status: std::process::ExitStatus,
    stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Group {
    /// Reads the command's output (bounded, draining the rest so it never
    /// blocks on a full pipe), waits for the shell to exit and reaps it.
    /// Blocking: runs on the blocking pool.
    fn collect(&self, mut child: std::process::Child) -> std::io::Result<Output> {
        let stderr_pipe = child.stderr.take();
        let stderr = std::thread::Builder::new()
            .name("kio-credential-process".into())
            .spawn(move || stderr_pipe.map(|p| bounded_read(p, MAX_STDERR)))?;
        let stdout = match child.stdout.take() {
            Some(p) => bounded_read(p, MAX_STDOUT)?,
            None => Vec::new(),
        };
        let stderr = stderr
            .join()
            .ok()
            .flatten()
            .transpose()?
            .unwrap_or_default();
        // Wait for the exit without reaping (WNOWAIT), so the pid stays
        // ours while a kill may still come; then reap under the lock.
        // SAFETY: waitid writes only into `info`, a zeroed siginfo_t.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            while libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            ) != 0
            {
                if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
                    break;
                }
            }
        }
        let mut reaped = self.reaped.lock();
        *reaped = true;
        let status = child.wait()?;
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    fn kill(&self) {
        let reaped = self.reaped.lock();
        if !*reaped {
            // SAFETY: plain syscall; the group id is still ours (the shell
            // is not reaped, see `reaped`).
            unsafe {
                libc::killpg(self.pid, libc::SIGKILL);
            }
        }
    }
}

struct KillOnDrop(Arc<Group>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        // After a normal end `reaped` is set and this does nothing.
        self.0.kill();
    }
}

/// Reads up to `max` bytes and discards the rest until end of file.
fn bounded_read(pipe: impl Read, max: u64) -> std::io::Result<Vec<u8>> {
    let mut pipe = pipe;
    let mut kept = Vec::new();
    (&mut pipe).take(max).read_to_end(&mut kept)?;
    std::io::copy(&mut pipe, &mut std::io::sink())?;
    Ok(kept)
}

/// The credential_process JSON: `Version` 1, `AccessKeyId`,
/// `SecretAccessKey`, optional `SessionToken`, `Expiration` (RFC 3339) and
/// `AccountId`. Errors name the field, never a value.
fn parse(stdout: &[u8]) -> Result<Credentials, String> {
    let json: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|_| "not a JSON object".to_string())?;
    let field = |name: &str| json.get(name).and_then(|v| v.as_str());
    match json.get("Version").and_then(|v| v.as_i64()) {
        Some(1) => {}
        _ => return Err("\"Version\" must be 1".into()),
    }
    let key = field("AccessKeyId").ok_or("\"AccessKeyId\" is missing")?;
    let secret = field("SecretAccessKey").ok_or("\"SecretAccessKey\" is missing")?;
    let expiry = match field("Expiration") {
        None => None,
        Some(text) => Some(
            aws_smithy_types::DateTime::from_str(
                text,
                aws_smithy_types::date_time::Format::DateTime,
            )
            .ok()
            .and_then(|d| SystemTime::try_from(d).ok())
            .ok_or("\"Expiration\" is not an RFC 3339 time")?,
        ),
    };
    let mut builder = Credentials::builder()
        .access_key_id(key)
        .secret_access_key(secret)
        .provider_name("CredentialProcess");
    if let Some(token) = field("SessionToken") {
        builder = builder.session_token(token);
    }
    if let Some(expiry) = expiry {
        builder = builder.expiry(expiry);
    }
    if let Some(account) = field("AccountId") {
        builder = builder.account_id(account);
    }
    Ok(builder.build())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_names_fields_never_values() {
        let ok = parse(br#"{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s3cr3t","SessionToken":"tok","Expiration":"2100-01-01T00:00:00Z"}"#)
            .unwrap();
        assert_eq!(ok.access_key_id(), "AKIDEXAMPLE");
        assert!(ok.expiry().is_some());
        for (bad, says) in [
            (&br#"{"Version":2}"#[..], "Version"),
            (br#"{"Version":1,"AccessKeyId":"AKIDEXAMPLE"}"#, "SecretAccessKey"),
            (br#"{"Version":1,"AccessKeyId":"AKIDEXAMPLE","SecretAccessKey":"s3cr3t","Expiration":"soon"}"#, "Expiration"),
            (b"s3cr3t", "JSON"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(says) && !e.contains("s3cr3t"), "{e}");
        }
    }
}

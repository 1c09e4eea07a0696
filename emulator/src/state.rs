//! Everything the emulator remembers: policy, faults, statistics and the
//! identities (built-in IAM users and the session credentials it issued).

use crate::clock;
use crate::identities::USERS;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The IAM-policy side of `sts:GetWebIdentityToken`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Outbound web identity federation enabled for the account; when off
    /// every `GetWebIdentityToken` fails with
    /// `OutboundWebIdentityFederationDisabledException`.
    pub federation_enabled: bool,
    /// Audiences allowed by the `sts:IdentityTokenAudience` condition;
    /// `None` allows any.
    pub allowed_audiences: Option<Vec<String>>,
    /// Largest `DurationSeconds` accepted (the smallest is always 60).
    pub max_duration_seconds: u32,
    /// Signing algorithms accepted (`ES384`, `RS256`).
    pub allowed_algorithms: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            federation_enabled: true,
            allowed_audiences: None,
            max_duration_seconds: 3600,
            allowed_algorithms: vec!["ES384".into(), "RS256".into()],
        }
    }
}

impl Policy {
    /// Applies a partial update in the control API's JSON shape: any of
    /// `federation_enabled`, `allowed_audiences` (array or null),
    /// `max_duration_seconds`, `allowed_algorithms`.
    pub fn apply_json(&mut self, update: &Value) -> Result<(), String> {
        let fields = update
            .as_object()
            .ok_or("policy update must be a JSON object")?;
        let mut next = self.clone();
        let strings = |v: &Value, key: &str| -> Result<Vec<String>, String> {
            v.as_array()
                .and_then(|a| a.iter().map(|s| s.as_str().map(String::from)).collect())
                .ok_or(format!("{key} must be an array of strings"))
        };
        for (key, v) in fields {
            match key.as_str() {
                "federation_enabled" => {
                    next.federation_enabled =
                        v.as_bool().ok_or("federation_enabled must be a bool")?
                }
                "allowed_audiences" if v.is_null() => next.allowed_audiences = None,
                "allowed_audiences" => next.allowed_audiences = Some(strings(v, key)?),
                "max_duration_seconds" => {
                    next.max_duration_seconds = v
                        .as_u64()
                        .and_then(|n| u32::try_from(n).ok())
                        .ok_or("max_duration_seconds must be a positive integer")?
                }
                "allowed_algorithms" => next.allowed_algorithms = strings(v, key)?,
                other => return Err(format!("unknown policy field {other:?}")),
            }
        }
        *self = next;
        Ok(())
    }
}

/// What a fault does to a `GetWebIdentityToken` request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FaultMode {
    /// No fault (only `latency_ms`, if set, applies).
    #[default]
    None,
    /// HTTP 400 `Throttling`, "Rate exceeded".
    Throttle,
    /// HTTP 500 `InternalFailure`.
    ServerError,
    /// HTTP 503 `ServiceUnavailable`.
    Unavailable,
    /// Close the TCP connection without any response.
    Drop,
    /// HTTP 200 with a body that is not valid XML.
    Malformed,
    /// A normal, validly signed answer whose JWT `exp` claim is absurd
    /// (`1e300`), as a broken or hostile endpoint might send.
    AbsurdExp,
    /// HTTP 200 with a body of [`crate::OVERSIZED_BYTES`] (256 MiB)
    /// announced by `Content-Length` and streamed (never held in memory),
    /// as a file server behind a misconfigured endpoint sends.
    Oversized,
    /// [`FaultMode::Oversized`] without `Content-Length` (chunked), as a
    /// broken proxy may send: the client only finds out by counting.
    OversizedChunked,
    /// A normal answer whose HTTP `Date` header disagrees with its token:
    /// `date_offset_seconds` (default 600) ahead of the clock that set
    /// `iat`/`exp`, so a token shorter than that is already expired by the
    /// `Date`. Keep it within SigV4's 15 minutes: the SDK learns its
    /// signing clock from `Date`, and the emulator checks signatures by
    /// the token's clock.
    DateDisagrees,
    /// A normal answer without a `Date` header.
    NoDate,
}

/// A fault for `GetWebIdentityToken`, in the control API's JSON shape:
/// `{"mode": "throttle", "count": 2}`, `{"mode": "drop", "for_ms": 500}`,
/// `{"latency_ms": 300}`. Without `count` or `for_ms` it lasts until replaced.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    /// What to do instead of answering normally.
    #[serde(default)]
    pub mode: FaultMode,
    /// Apply to this many requests, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    /// Apply for this many milliseconds from now, then stop.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub for_ms: Option<u64>,
    /// Delay each affected response by this many milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency_ms: Option<u64>,
    /// With `date_disagrees`: how far the `Date` header is from the
    /// token's clock, seconds (negative: behind; default 600 ahead).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_offset_seconds: Option<i64>,
}

impl Fault {
    /// `mode` on every request until replaced.
    pub fn new(mode: FaultMode) -> Self {
        Fault {
            mode,
            ..Fault::default()
        }
    }

    /// Only a delay of `latency` on every request until replaced.
    pub fn latency(latency: Duration) -> Self {
        Fault::default().with_latency(latency)
    }

    /// Limits the fault to the next `n` requests.
    pub fn times(mut self, n: u64) -> Self {
        self.count = Some(n);
        self
    }

    /// Limits the fault to `d` from when it is set.
    pub fn for_duration(mut self, d: Duration) -> Self {
        self.for_ms = Some(d.as_millis() as u64);
        self
    }

    /// Adds a delay before each affected response.
    pub fn with_latency(mut self, latency: Duration) -> Self {
        self.latency_ms = Some(latency.as_millis() as u64);
        self
    }
}

/// What the current fault does to one request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct FaultAction {
    /// The fault mode to apply.
    pub mode: FaultMode,
    /// Delay before responding.
    pub latency: Duration,
    /// `date_disagrees`: the `Date` header's offset from STS's clock.
    pub date_offset: i64,
}

#[derive(Debug)]
struct ActiveFault {
    fault: Fault,
    remaining: Option<u64>,
    until: Option<Instant>,
}

/// The parameters of the last `GetWebIdentityToken` request (never
/// credentials or signatures).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastRequest {
    /// The first (normally only) `Audience.member.N`.
    pub audience: Option<String>,
    /// All `Audience.member.N`, in order.
    pub audiences: Vec<String>,
    /// `DurationSeconds` (when it is a number).
    pub duration_seconds: Option<i64>,
    /// `SigningAlgorithm` as sent.
    pub signing_algorithm: Option<String>,
    /// `Tags.member.N.Key` / `.Value`.
    pub tags: BTreeMap<String, String>,
    /// The access key id that signed the request, if any.
    pub access_key_id: Option<String>,
    /// The region of the SigV4 credential scope, if any.
    pub region: Option<String>,
    /// Every form field exactly as sent (`Audience.member.1`,
    /// `DurationSeconds`, ...), flattened into the same JSON object.
    /// Credentials never travel in the form (SigV4 uses headers), and any
    /// `X-Amz-*` field is left out.
    #[serde(flatten)]
    pub form: BTreeMap<String, String>,
}

/// Request counters, as served by `GET /_emulator/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// STS requests by `Action` (every outcome, faults included).
    pub requests: BTreeMap<String, u64>,
    /// JWTs issued by `GetWebIdentityToken`.
    pub tokens_issued: u64,
    /// The last `GetWebIdentityToken` request's parameters.
    pub last_request: Option<LastRequest>,
    /// The account-wide rate limit in force, if any.
    #[serde(default)]
    pub rate_limit: Option<crate::RateLimit>,
    /// STS requests refused by the rate limit (`Throttling`), in total.
    #[serde(default)]
    pub throttled: u64,
    /// STS requests and throttles per second (every action; the last hour,
    /// oldest first, only seconds that had requests).
    #[serde(default)]
    pub per_second: Vec<crate::SecondCount>,
}

impl Default for Stats {
    fn default() -> Self {
        let requests = ["GetWebIdentityToken", "GetCallerIdentity", "AssumeRole"]
            .into_iter()
            .map(|a| (a.to_string(), 0))
            .collect();
        Stats {
            requests,
            tokens_issued: 0,
            last_request: None,
            rate_limit: None,
            throttled: 0,
            per_second: Vec::new(),
        }
    }
}

/// Session credentials issued by `AssumeRole` or `/_emulator/session`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SessionCredentials {
    /// `ASIA...`
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// Goes in `X-Amz-Security-Token`.
    pub session_token: String,
    /// Unix seconds when the credentials expire.
    #[serde(skip)]
    pub expires_at: i64,
}

/// Someone who can sign requests.
#[derive(Debug, Clone)]
pub(crate) struct Identity {
    pub secret: String,
    /// Principal of the tokens it mints (`sub`): user or role ARN.
    pub principal: String,
    /// `Arn` of `GetCallerIdentity` (`assumed-role/...` for role sessions).
    pub caller_arn: String,
    /// `UserId` of `GetCallerIdentity`.
    pub user_id: String,
    /// `Some((session token, expiry))` for session credentials.
    pub session: Option<(String, i64)>,
    /// The session's `aws:OriginIdentity/Subject`: who it acts for. Set by
    /// the test switch `origin_subject` (`/_emulator/session`,
    /// `session_credentials_with_origin`) and kept by `AssumeRole` from
    /// such a session; `GetWebIdentityToken` with
    /// `SubjectMode=OriginIdentity` puts it in `sub`.
    pub origin_subject: Option<String>,
}

/// Random characters from `alphabet`.
pub(crate) fn random_string(alphabet: &[u8], len: usize) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| alphabet[rng.gen_range(0..alphabet.len())] as char)
        .collect()
}

const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// A stable IAM-style unique id (`AIDA...` / `AROA...`) for an ARN.
pub(crate) fn unique_id(prefix: &str, arn: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(arn.as_bytes());
    let tail: String = digest
        .iter()
        .take(17)
        .map(|b| UPPER[(*b as usize) % UPPER.len()] as char)
        .collect();
    format!("{prefix}{tail}")
}

struct Inner {
    policy: Policy,
    fault: Option<ActiveFault>,
    stats: Stats,
    identities: HashMap<String, Identity>,
    /// Seconds the STS clock runs ahead of the host's (negative: behind).
    clock_offset: i64,
}

/// Shared mutable state of one emulator.
pub(crate) struct State {
    initial_policy: Policy,
    inner: Mutex<Inner>,
}

impl State {
    pub fn new(policy: Policy) -> Self {
        let identities = USERS
            .iter()
            .map(|user| {
                let identity = Identity {
                    secret: user.secret_access_key.to_string(),
                    principal: user.arn.to_string(),
                    caller_arn: user.arn.to_string(),
                    user_id: unique_id("AIDA", user.arn),
                    session: None,
                    origin_subject: None,
                };
                (user.access_key_id.to_string(), identity)
            })
            .collect();
        State {
            initial_policy: policy.clone(),
            inner: Mutex::new(Inner {
                policy,
                fault: None,
                stats: Stats::default(),
                identities,
                clock_offset: 0,
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn policy(&self) -> Policy {
        self.lock().policy.clone()
    }

    pub fn set_policy(&self, policy: Policy) {
        self.lock().policy = policy;
    }

    pub fn update_policy(&self, update: &Value) -> Result<Policy, String> {
        let mut inner = self.lock();
        inner.policy.apply_json(update)?;
        Ok(inner.policy.clone())
    }

    pub fn set_fault(&self, fault: Fault) {
        let active =
            (fault.mode != FaultMode::None || fault.latency_ms.is_some()).then(|| ActiveFault {
                remaining: fault.count,
                until: fault
                    .for_ms
                    .map(|ms| Instant::now() + Duration::from_millis(ms)),
                fault,
            });
        self.lock().fault = active;
    }

    /// Consumes one use of the current fault, if any is active.
    pub fn take_fault(&self) -> FaultAction {
        let mut inner = self.lock();
        let Some(active) = inner.fault.as_mut() else {
            return FaultAction::default();
        };
        let expired = active.until.is_some_and(|t| Instant::now() >= t);
        if expired || active.remaining == Some(0) {
            inner.fault = None;
            return FaultAction::default();
        }
        if let Some(n) = active.remaining.as_mut() {
            *n -= 1;
        }
        FaultAction {
            mode: active.fault.mode,
            latency: Duration::from_millis(active.fault.latency_ms.unwrap_or(0)),
            date_offset: active.fault.date_offset_seconds.unwrap_or(600),
        }
    }

    pub fn count_request(&self, action: &str) {
        *self
            .lock()
            .stats
            .requests
            .entry(action.to_string())
            .or_insert(0) += 1;
    }

    pub fn record_last_request(&self, last: LastRequest) {
        self.lock().stats.last_request = Some(last);
    }

    pub fn count_token(&self) {
        self.lock().stats.tokens_issued += 1;
    }

    pub fn stats(&self) -> Stats {
        self.lock().stats.clone()
    }

    /// Counters, faults and policy back to their start-up values
    /// (issued session credentials stay valid).
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.policy = self.initial_policy.clone();
        inner.fault = None;
        inner.stats = Stats::default();
        inner.clock_offset = 0;
    }

    /// STS's "now" (Unix seconds): the host's clock plus the offset set by
    /// [`State::set_clock_offset`]. Token `iat`/`exp`, `Expiration` and the
    /// SigV4 date check all use it, as a real STS uses its own clock.
    pub fn now(&self) -> i64 {
        clock::now().saturating_add(self.lock().clock_offset)
    }

    /// Runs STS's clock `seconds` ahead of the host's (negative: behind).
    pub fn set_clock_offset(&self, seconds: i64) {
        self.lock().clock_offset = seconds;
    }

    pub fn identity(&self, access_key_id: &str) -> Option<Identity> {
        self.lock().identities.get(access_key_id).cloned()
    }

    /// Issues session credentials valid `seconds` from now.
    pub fn issue_session(
        &self,
        principal: &str,
        caller_arn: &str,
        user_id: &str,
        seconds: i64,
    ) -> SessionCredentials {
        self.issue_session_with_origin(principal, caller_arn, user_id, seconds, None)
    }

    /// [`State::issue_session`] for a session acting for `origin_subject`
    /// (its `aws:OriginIdentity/Subject`), if any.
    pub fn issue_session_with_origin(
        &self,
        principal: &str,
        caller_arn: &str,
        user_id: &str,
        seconds: i64,
        origin_subject: Option<&str>,
    ) -> SessionCredentials {
        let creds = SessionCredentials {
            access_key_id: format!("ASIA{}", random_string(UPPER, 16)),
            secret_access_key: random_string(BASE64, 40),
            session_token: format!("FwoGZXIvYXdzEMULATOR{}", random_string(BASE64, 180)),
            expires_at: clock::now() + seconds,
        };
        let identity = Identity {
            secret: creds.secret_access_key.clone(),
            principal: principal.to_string(),
            caller_arn: caller_arn.to_string(),
            user_id: user_id.to_string(),
            session: Some((creds.session_token.clone(), creds.expires_at)),
            origin_subject: origin_subject.map(String::from),
        };
        self.lock()
            .identities
            .insert(creds.access_key_id.clone(), identity);
        creds
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fault_counts_down_then_clears() {
        let state = State::new(Policy::default());
        state.set_fault(Fault::new(FaultMode::Throttle).times(2));
        assert_eq!(state.take_fault().mode, FaultMode::Throttle);
        assert_eq!(state.take_fault().mode, FaultMode::Throttle);
        assert_eq!(state.take_fault(), FaultAction::default());
    }

    #[test]
    fn fault_json_shapes() {
        let f: Fault =
            serde_json::from_value(json!({"mode": "server_error", "for_ms": 5})).unwrap();
        assert_eq!(
            f,
            Fault::new(FaultMode::ServerError).for_duration(Duration::from_millis(5))
        );
        let f: Fault = serde_json::from_value(json!({"latency_ms": 300})).unwrap();
        assert_eq!(f, Fault::latency(Duration::from_millis(300)));
        assert!(serde_json::from_value::<Fault>(json!({"mode": "explode"})).is_err());
    }

    #[test]
    fn policy_partial_updates() {
        let mut p = Policy::default();
        p.apply_json(&json!({"allowed_audiences": ["a"], "federation_enabled": false}))
            .unwrap();
        assert_eq!(p.allowed_audiences, Some(vec!["a".to_string()]));
        assert!(!p.federation_enabled);
        p.apply_json(&json!({"allowed_audiences": null})).unwrap();
        assert_eq!(p.allowed_audiences, None);
        assert!(p.apply_json(&json!({"nope": 1})).is_err());
        assert!(p.apply_json(&json!({"max_duration_seconds": "x"})).is_err());
    }
}

//! The credential sources a Kafka client on AWS gets its identity from, on
//! loopback, each reached by the real AWS SDK through its documented
//! environment, each with a fault switch:
//!
//! - EKS IRSA: `AssumeRoleWithWebIdentity` (an unsigned STS call, in
//!   `server.rs`) with a JWT from `AWS_WEB_IDENTITY_TOKEN_FILE`, checked
//!   the way STS checks an OIDC provider (signature, `iss`, `aud`, `exp`).
//!   The emulator stands in for the cluster's OIDC issuer: it signs such
//!   JWTs with its own keys ([`SourceState::web_identity_claims`]).
//! - EKS Pod Identity and ECS task roles: the container credentials
//!   endpoint (`AWS_CONTAINER_CREDENTIALS_FULL_URI`), with the
//!   `Authorization` value from `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`
//!   for Pod Identity (`/_emulator/pod-identity/<role>`) and without for
//!   ECS (`/_emulator/ecs/<role>`).
//! - EC2: IMDSv2 (`PUT /latest/api/token`, then the role name and its
//!   credentials under `/latest/meta-data/iam/security-credentials/`);
//!   IMDSv1 (no token) is refused, as on hardened instances.
//! - IAM Identity Center: the portal's `GetRoleCredentials`
//!   (`GET /federation/credentials`) with an SSO access token the
//!   emulator issued.
//!
//! Every session is an assumed-role session of a role in the emulator's
//! account: its tokens' `sub` is the role ARN.

use crate::clock;
use crate::identities::{ACCOUNT_ID, INSTANCE_ROLE};
use crate::state::{random_string, unique_id, SessionCredentials, State};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

/// `iss` of the web identity tokens the emulator signs as a stand-in for
/// an EKS cluster's OIDC issuer; the only OIDC provider its
/// `AssumeRoleWithWebIdentity` trusts.
pub const OIDC_ISSUER: &str =
    "https://oidc.eks.eu-west-1.amazonaws.com/id/EMULATOR0123456789ABCDEF0123456";

/// `aud` of EKS IRSA tokens, the audience STS requires of them.
pub const WEB_IDENTITY_AUDIENCE: &str = "sts.amazonaws.com";

/// Default lifetime of the credentials every source hands out.
pub const DEFAULT_CREDENTIAL_SECONDS: i64 = 3600;

/// Issued tokens remembered for [`SourceStats::issued`].
const ISSUED_KEPT: usize = 10_000;

/// A credential source the emulator serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `AssumeRoleWithWebIdentity` (EKS IRSA).
    WebIdentity,
    /// The container credentials endpoint (EKS Pod Identity, ECS).
    Container,
    /// The EC2 instance metadata service.
    Imds,
    /// IAM Identity Center's `GetRoleCredentials`.
    Sso,
}

/// What a source does instead of answering normally.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceFault {
    /// Answers normally.
    #[default]
    None,
    /// Closes every connection unanswered (IMDS or the agent is down).
    Down,
    /// HTTP 500.
    ServerError,
    /// Refuses the caller's token as expired: `ExpiredTokenException` for
    /// web identity, HTTP 401 for the others.
    ExpiredToken,
    /// HTTP 200 with a chunked body of [`crate::OVERSIZED_BYTES`]
    /// (256 MiB, streamed, never held in memory).
    Oversized,
}

/// The content type of an [`Answer`] the server replaces with the
/// oversized streamed body ([`SourceFault::Oversized`]).
pub(crate) const OVERSIZED: &str = "application/x-kio-emulator-oversized";

fn oversized_answer() -> Answer {
    Some((200, OVERSIZED, String::new(), Vec::new()))
}

/// One `GetWebIdentityToken` answer signed by session credentials, for
/// checking that tokens never outlive the credentials that signed them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IssuedToken {
    /// `sub` of the token.
    pub principal: String,
    /// The session's access key id (`ASIA...`; not a secret).
    pub access_key_id: String,
    /// The token's `exp` (Unix seconds).
    pub exp: i64,
    /// When the signing credentials expire (Unix seconds).
    pub credentials_expire: i64,
}

/// What the sources did, as served by `GET /_emulator/sources`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceStats {
    /// Requests per source endpoint (`AssumeRoleWithWebIdentity`,
    /// `ContainerCredentials`, `IMDS`, `GetRoleCredentials`), faults included.
    pub requests: BTreeMap<String, u64>,
    /// `GetWebIdentityToken` calls refused with
    /// `SessionDurationEscalationException`, per caller principal.
    pub escalations_refused: BTreeMap<String, u64>,
    /// The last [`ISSUED_KEPT`] tokens signed by session credentials.
    pub issued: Vec<IssuedToken>,
    /// Current lifetime of the credentials the sources hand out.
    pub credential_seconds: i64,
    /// Current faults, per source.
    pub faults: BTreeMap<Source, SourceFault>,
}

struct Inner {
    faults: BTreeMap<Source, SourceFault>,
    credential_seconds: i64,
    /// IMDSv2 session tokens and their expiry.
    imds_tokens: HashMap<String, i64>,
    /// SSO access tokens and their expiry.
    sso_tokens: HashMap<String, i64>,
    /// The current session of each role served by IMDS or a container
    /// endpoint (they hand out the same credentials until rotation).
    role_sessions: HashMap<String, (SessionCredentials, i64)>,
    requests: BTreeMap<String, u64>,
    escalations_refused: BTreeMap<String, u64>,
    issued: VecDeque<IssuedToken>,
}

/// The sources' settings, faults and counters. Not touched by
/// `/_emulator/reset` (a suite resetting the STS side must not break a
/// long rotation test elsewhere); `POST /_emulator/sources` with
/// `{"reset": true}` resets them.
pub(crate) struct SourceState {
    /// The `Authorization` value EKS Pod Identity sends (the content of
    /// `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`); fixed per emulator.
    pub container_token: String,
    inner: Mutex<Inner>,
}

/// An answer of a source endpoint: status, content type, body and extra
/// headers, or `None` to drop the connection.
pub(crate) type Answer = Option<(u16, &'static str, String, Vec<(&'static str, String)>)>;

fn json_answer(status: u16, value: Value) -> Answer {
    Some((status, "application/json", value.to_string(), Vec::new()))
}

impl SourceState {
    pub fn new() -> Self {
        SourceState {
            container_token: format!("pod-identity-{}", random_string(b"abcdef0123456789", 32)),
            inner: Mutex::new(Inner {
                faults: BTreeMap::new(),
                credential_seconds: DEFAULT_CREDENTIAL_SECONDS,
                imds_tokens: HashMap::new(),
                sso_tokens: HashMap::new(),
                role_sessions: HashMap::new(),
                requests: BTreeMap::new(),
                escalations_refused: BTreeMap::new(),
                issued: VecDeque::new(),
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Faults, credential lifetime and counters back to start-up values
    /// (tokens already issued stay valid).
    pub fn reset(&self) {
        let mut inner = self.lock();
        inner.faults.clear();
        inner.credential_seconds = DEFAULT_CREDENTIAL_SECONDS;
        inner.role_sessions.clear();
        inner.requests.clear();
        inner.escalations_refused.clear();
        inner.issued.clear();
    }

    pub fn set_fault(&self, source: Source, fault: SourceFault) {
        let mut inner = self.lock();
        if fault == SourceFault::None {
            inner.faults.remove(&source);
        } else {
            inner.faults.insert(source, fault);
        }
    }

    pub fn set_credential_seconds(&self, seconds: i64) {
        let mut inner = self.lock();
        inner.credential_seconds = seconds.max(1);
        // Sessions handed out before live on, but are rotated at once.
        inner.role_sessions.clear();
    }

    pub fn credential_seconds(&self) -> i64 {
        self.lock().credential_seconds
    }

    /// Counts a request to `endpoint` and returns the source's fault.
    pub fn enter(&self, source: Source, endpoint: &str) -> SourceFault {
        let mut inner = self.lock();
        *inner.requests.entry(endpoint.to_string()).or_insert(0) += 1;
        inner.faults.get(&source).copied().unwrap_or_default()
    }

    pub fn count_escalation(&self, principal: &str) {
        *self
            .lock()
            .escalations_refused
            .entry(principal.to_string())
            .or_insert(0) += 1;
    }

    pub fn record_issued(&self, token: IssuedToken) {
        let mut inner = self.lock();
        if inner.issued.len() == ISSUED_KEPT {
            inner.issued.pop_front();
        }
        inner.issued.push_back(token);
    }

    pub fn stats(&self) -> SourceStats {
        let inner = self.lock();
        SourceStats {
            requests: inner.requests.clone(),
            escalations_refused: inner.escalations_refused.clone(),
            issued: inner.issued.iter().cloned().collect(),
            credential_seconds: inner.credential_seconds,
            faults: inner.faults.clone(),
        }
    }

    /// Applies `POST /_emulator/sources`: any of `{"reset": true,
    /// "credential_seconds": n, "fault": {"source": s, "mode": m}}`.
    pub fn apply_json(&self, update: &Value) -> Result<(), String> {
        let fields = update.as_object().ok_or("must be a JSON object")?;
        for key in fields.keys() {
            if !["reset", "credential_seconds", "fault"].contains(&key.as_str()) {
                return Err(format!(
                    "unknown field {key:?} (allowed: reset, credential_seconds, fault)"
                ));
            }
        }
        if fields.get("reset").and_then(Value::as_bool) == Some(true) {
            self.reset();
        }
        if let Some(v) = fields.get("credential_seconds") {
            let n = v
                .as_i64()
                .filter(|n| *n >= 1)
                .ok_or("credential_seconds must be an integer >= 1")?;
            self.set_credential_seconds(n);
        }
        if let Some(v) = fields.get("fault") {
            #[derive(Deserialize)]
            #[serde(deny_unknown_fields)]
            struct F {
                source: Source,
                mode: SourceFault,
            }
            let f: F = serde_json::from_value(v.clone()).map_err(|e| {
                format!(
                    "fault must be {{\"source\": \"web_identity\"|\"container\"|\"imds\"|\"sso\", \
                     \"mode\": \"none\"|\"down\"|\"server_error\"|\"expired_token\"|\"oversized\"}}: {e}"
                )
            })?;
            self.set_fault(f.source, f.mode);
        }
        Ok(())
    }

    /// Claims of a web identity token as an EKS cluster's OIDC issuer
    /// signs them for a service account: `sub`
    /// `system:serviceaccount:<ns>:<name>`, `aud` `sts.amazonaws.com`,
    /// expiring `valid_for` seconds from `now` (zero or less: already
    /// expired).
    pub fn web_identity_claims(subject: &str, audience: &str, now: i64, valid_for: i64) -> Value {
        json!({
            "iss": OIDC_ISSUER,
            "sub": subject,
            "aud": [audience],
            "iat": now.min(now + valid_for) - 1,
            "nbf": now.min(now + valid_for) - 1,
            "exp": now + valid_for,
            "kubernetes.io": {"namespace": "default"},
        })
    }

    /// Issues an SSO access token (what `aws sso login` caches) valid
    /// `seconds` from now.
    pub fn issue_sso_token(&self, seconds: i64) -> String {
        let token = format!(
            "aoa{}",
            random_string(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                60
            )
        );
        self.lock()
            .sso_tokens
            .insert(token.clone(), clock::now() + seconds);
        token
    }

    /// The current session of `role_arn` for IMDS and the container
    /// endpoints: the same credentials until less than half their
    /// lifetime is left, then new ones (IMDS rotates ahead of expiry so a
    /// caller never gets credentials about to expire).
    fn role_session(
        &self,
        state: &State,
        role_arn: &str,
        session_name: &str,
    ) -> SessionCredentials {
        let now = clock::now();
        let mut inner = self.lock();
        let seconds = inner.credential_seconds;
        if let Some((creds, lifetime)) = inner.role_sessions.get(role_arn) {
            if (creds.expires_at - now) * 2 >= *lifetime {
                return creds.clone();
            }
        }
        let creds = issue_role_session(state, role_arn, session_name, seconds);
        inner
            .role_sessions
            .insert(role_arn.to_string(), (creds.clone(), seconds));
        creds
    }

    /// `PUT /latest/api/token` and `GET /latest/...`: IMDSv2 only.
    pub fn imds(
        &self,
        state: &State,
        method: &str,
        path: &str,
        headers: &hyper::HeaderMap,
    ) -> Answer {
        let text =
            |status: u16, body: &str| Some((status, "text/plain", body.to_string(), Vec::new()));
        match self.enter(Source::Imds, "IMDS") {
            SourceFault::Down => return None,
            SourceFault::Oversized => return oversized_answer(),
            SourceFault::ServerError => return text(500, "Internal Server Error"),
            SourceFault::ExpiredToken => return text(401, "Unauthorized"),
            SourceFault::None => {}
        }
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let now = clock::now();
        if method == "PUT" && path == "/latest/api/token" {
            let ttl =
                header("x-aws-ec2-metadata-token-ttl-seconds").and_then(|v| v.parse::<i64>().ok());
            let Some(ttl) = ttl.filter(|t| (1..=21_600).contains(t)) else {
                return text(400, "Bad Request");
            };
            let token = random_string(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
                56,
            );
            let mut inner = self.lock();
            inner.imds_tokens.retain(|_, exp| *exp > now);
            inner.imds_tokens.insert(token.clone(), now + ttl);
            return Some((
                200,
                "text/plain",
                token,
                vec![("x-aws-ec2-metadata-token-ttl-seconds", ttl.to_string())],
            ));
        }
        if method != "GET" {
            return text(405, "Method Not Allowed");
        }
        // IMDSv1 (no session token) is refused, as on instances with
        // HttpTokens=required.
        let valid = header("x-aws-ec2-metadata-token")
            .and_then(|t| self.lock().imds_tokens.get(t).copied())
            .is_some_and(|exp| exp > now);
        if !valid {
            return text(401, "Unauthorized");
        }
        let role = INSTANCE_ROLE;
        match path.strip_prefix("/latest/meta-data/iam/security-credentials") {
            Some("" | "/") => text(200, role.name),
            Some(name) if name.strip_prefix('/') == Some(role.name) => {
                let creds = self.role_session(state, role.arn, "i-0123456789abcdef0");
                json_answer(
                    200,
                    json!({
                        "Code": "Success",
                        "LastUpdated": clock::iso8601(now),
                        "Type": "AWS-HMAC",
                        "AccessKeyId": creds.access_key_id,
                        "SecretAccessKey": creds.secret_access_key,
                        "Token": creds.session_token,
                        "Expiration": clock::iso8601(creds.expires_at),
                    }),
                )
            }
            _ => text(404, "Not Found"),
        }
    }

    /// `GET /_emulator/pod-identity/<role>` (the `Authorization` header
    /// must be [`SourceState::container_token`]) and `GET
    /// /_emulator/ecs/<role>` (no header): the container credentials
    /// endpoint's JSON.
    pub fn container(&self, state: &State, path: &str, headers: &hyper::HeaderMap) -> Answer {
        let message = |status: u16, m: &str| {
            json_answer(status, json!({"Code": status.to_string(), "Message": m}))
        };
        match self.enter(Source::Container, "ContainerCredentials") {
            SourceFault::Down => return None,
            SourceFault::Oversized => return oversized_answer(),
            SourceFault::ServerError => return message(500, "Internal Server Error"),
            SourceFault::ExpiredToken => {
                return message(401, "Service account token cannot be empty or expired")
            }
            SourceFault::None => {}
        }
        let (pod_identity, role) = if let Some(r) = path.strip_prefix("/_emulator/pod-identity/") {
            (true, r)
        } else if let Some(r) = path.strip_prefix("/_emulator/ecs/") {
            (false, r)
        } else {
            return message(404, "Not Found");
        };
        if role.is_empty()
            || !role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        {
            return message(404, "no such role");
        }
        if pod_identity {
            let auth = headers
                .get(hyper::header::AUTHORIZATION)
                .map(|v| v.as_bytes());
            if auth != Some(self.container_token.as_bytes()) {
                return message(401, "Service account token cannot be empty or invalid");
            }
        }
        let role_arn = format!("arn:aws:iam::{ACCOUNT_ID}:role/{role}");
        let session = if pod_identity {
            "eks-kafka-pod-0123456789"
        } else {
            "0123456789abcdef0123456789abcdef"
        };
        let creds = self.role_session(state, &role_arn, session);
        let mut body = json!({
            "AccessKeyId": creds.access_key_id,
            "SecretAccessKey": creds.secret_access_key,
            "Token": creds.session_token,
            "Expiration": clock::iso8601(creds.expires_at),
        });
        if pod_identity {
            body["AccountId"] = json!(ACCOUNT_ID);
        } else {
            body["RoleArn"] = json!(role_arn);
        }
        json_answer(200, body)
    }

    /// `GET /federation/credentials?role_name=R&account_id=A` with the
    /// `x-amz-sso_bearer_token` header: IAM Identity Center's
    /// `GetRoleCredentials` for the permission set `R`.
    pub fn sso(&self, state: &State, query: &str, headers: &hyper::HeaderMap) -> Answer {
        let error = |status: u16, kind: &str, m: &str| {
            json_answer(status, json!({"__type": kind, "message": m}))
        };
        match self.enter(Source::Sso, "GetRoleCredentials") {
            SourceFault::Down => return None,
            SourceFault::Oversized => return oversized_answer(),
            SourceFault::ServerError => {
                return error(500, "InternalServerException", "Internal failure")
            }
            SourceFault::ExpiredToken => {
                return error(
                    401,
                    "UnauthorizedException",
                    "Session token not found or invalid",
                )
            }
            SourceFault::None => {}
        }
        let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        let now = clock::now();
        let valid = headers
            .get("x-amz-sso_bearer_token")
            .and_then(|v| v.to_str().ok())
            .and_then(|t| self.lock().sso_tokens.get(t).copied())
            .is_some_and(|exp| exp > now);
        if !valid {
            return error(
                401,
                "UnauthorizedException",
                "Session token not found or invalid",
            );
        }
        let (Some(role), Some(account)) = (params.get("role_name"), params.get("account_id"))
        else {
            return error(
                400,
                "InvalidRequestException",
                "role_name and account_id are required",
            );
        };
        if account != ACCOUNT_ID
            || role.is_empty()
            || !role
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        {
            return error(403, "ForbiddenException", "No access");
        }
        let role_arn = format!(
            "arn:aws:iam::{ACCOUNT_ID}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_{role}_0123456789abcdef"
        );
        let seconds = self.credential_seconds();
        let creds = issue_role_session(state, &role_arn, "kafka-developer", seconds);
        json_answer(
            200,
            json!({"roleCredentials": {
                "accessKeyId": creds.access_key_id,
                "secretAccessKey": creds.secret_access_key,
                "sessionToken": creds.session_token,
                "expiration": creds.expires_at * 1000,
            }}),
        )
    }
}

/// Session credentials of an assumed-role session of `role_arn`: the
/// tokens they mint have the role ARN as `sub`; `GetCallerIdentity` shows
/// `assumed-role/<name>/<session>`.
pub(crate) fn issue_role_session(
    state: &State,
    role_arn: &str,
    session_name: &str,
    seconds: i64,
) -> SessionCredentials {
    let role_name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    let assumed_arn = format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session_name}");
    let assumed_id = format!("{}:{session_name}", unique_id("AROA", role_arn));
    state.issue_session(role_arn, &assumed_arn, &assumed_id, seconds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Policy;
    use hyper::header::{HeaderMap, HeaderValue};

    #[test]
    fn control_api_shapes() {
        let s = SourceState::new();
        s.apply_json(
            &json!({"credential_seconds": 180, "fault": {"source": "imds", "mode": "down"}}),
        )
        .unwrap();
        assert_eq!(s.credential_seconds(), 180);
        assert_eq!(s.stats().faults[&Source::Imds], SourceFault::Down);
        s.apply_json(&json!({"fault": {"source": "imds", "mode": "none"}}))
            .unwrap();
        assert!(s.stats().faults.is_empty());
        assert!(s
            .apply_json(&json!({"fault": {"source": "ec2", "mode": "down"}}))
            .is_err());
        assert!(s.apply_json(&json!({"credential_seconds": 0})).is_err());
        assert!(s.apply_json(&json!({"nope": 1})).is_err());
        s.apply_json(&json!({"reset": true})).unwrap();
        assert_eq!(s.credential_seconds(), DEFAULT_CREDENTIAL_SECONDS);
    }

    #[test]
    fn imds_needs_a_session_token_and_rotates_at_half_life() {
        let (s, state) = (SourceState::new(), State::new(Policy::default()));
        let none = HeaderMap::new();
        let path = "/latest/meta-data/iam/security-credentials/";
        assert_eq!(s.imds(&state, "GET", path, &none).unwrap().0, 401, "IMDSv1");
        let mut ttl = HeaderMap::new();
        ttl.insert(
            "x-aws-ec2-metadata-token-ttl-seconds",
            HeaderValue::from_static("60"),
        );
        let (status, _, token, headers) = s.imds(&state, "PUT", "/latest/api/token", &ttl).unwrap();
        assert_eq!(status, 200);
        assert_eq!(headers[0].1, "60");
        let mut auth = HeaderMap::new();
        auth.insert(
            "x-aws-ec2-metadata-token",
            HeaderValue::from_str(&token).unwrap(),
        );
        assert_eq!(
            s.imds(&state, "GET", path, &auth).unwrap().2,
            INSTANCE_ROLE.name
        );
        let creds = |s: &SourceState| {
            let body = s
                .imds(
                    &state,
                    "GET",
                    &format!("{path}{}", INSTANCE_ROLE.name),
                    &auth,
                )
                .unwrap()
                .2;
            serde_json::from_str::<Value>(&body).unwrap()["AccessKeyId"].clone()
        };
        let first = creds(&s);
        assert_eq!(creds(&s), first, "the same session until half its life");
        // A new lifetime starts a new session; past half of it, another.
        s.set_credential_seconds(1);
        let short = creds(&s);
        assert_ne!(short, first);
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_ne!(creds(&s), short);
        s.set_fault(Source::Imds, SourceFault::Down);
        assert!(
            s.imds(&state, "GET", path, &auth).is_none(),
            "connection dropped"
        );
    }
}

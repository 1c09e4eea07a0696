//! The STS actions: request parameters, authentication of the caller and
//! `GetWebIdentityToken`, `GetCallerIdentity`, `AssumeRole`.

use crate::clock;
use crate::identities::ACCOUNT_ID;
use crate::jwt::{Algorithm, Keys};
use crate::sigv4;
use crate::state::{unique_id, Identity, LastRequest, Policy, State};
use crate::xml::{Node, StsError};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The only API version STS has.
pub const VERSION: &str = "2011-06-15";
/// Actions this emulator implements.
pub const ACTIONS: [&str; 4] = [
    "GetWebIdentityToken",
    "GetCallerIdentity",
    "AssumeRole",
    "AssumeRoleWithWebIdentity",
];

/// AWS Query parameters of one request (query string and form body).
pub(crate) struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str, form_body: Option<&[u8]>) -> Params {
        let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
            .into_owned()
            .collect();
        if let Some(body) = form_body {
            pairs.extend(form_urlencoded::parse(body).into_owned());
        }
        Params(pairs)
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// `{prefix}.member.N{suffix}` values ordered by N.
    fn members(&self, prefix: &str, suffix: &str) -> BTreeMap<u32, String> {
        let head = format!("{prefix}.member.");
        self.0
            .iter()
            .filter_map(|(k, v)| {
                let n = k.strip_prefix(&head)?.strip_suffix(suffix)?;
                Some((n.parse().ok()?, v.clone()))
            })
            .collect()
    }

    /// A list parameter (`Audience.member.1`, ...).
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.members(prefix, "").into_values().collect()
    }

    /// `Tags.member.N.Key` / `.Value` pairs, validated as STS does.
    pub fn tags(&self) -> Result<BTreeMap<String, String>, StsError> {
        let keys = self.members("Tags", ".Key");
        let mut values = self.members("Tags", ".Value");
        if keys.len() > 50 {
            return Err(StsError::validation(format!(
                "1 validation error detected: Value at 'tags' failed to satisfy constraint: \
                 Member must have length less than or equal to 50 (got {})",
                keys.len()
            )));
        }
        if let Some(n) = values.keys().find(|n| !keys.contains_key(n)) {
            return Err(StsError::validation(format!(
                "1 validation error detected: Value null at 'tags.{n}.member.key' failed to \
                 satisfy constraint: Member must not be null"
            )));
        }
        let mut tags = BTreeMap::new();
        for (n, key) in keys {
            let value = values.remove(&n).unwrap_or_default();
            let key_len = key.chars().count();
            if !(1..=128).contains(&key_len) {
                return Err(StsError::validation(format!(
                    "1 validation error detected: Value '{key}' at 'tags.{n}.member.key' failed \
                     to satisfy constraint: Member must have length between 1 and 128"
                )));
            }
            if value.chars().count() > 256 {
                return Err(StsError::validation(format!(
                    "1 validation error detected: Value at 'tags.{n}.member.value' failed to \
                     satisfy constraint: Member must have length less than or equal to 256"
                )));
            }
            if tags.insert(key.clone(), value).is_some() {
                return Err(StsError::validation(format!(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive: {key}"
                )));
            }
        }
        Ok(tags)
    }

    /// What `/_emulator/stats` shows of a `GetWebIdentityToken` request.
    pub fn last_request(&self, headers: &hyper::HeaderMap) -> LastRequest {
        let auth = headers
            .get(hyper::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| sigv4::parse_authorization(v).ok());
        let audiences = self.list("Audience");
        let tags = self
            .members("Tags", ".Key")
            .into_iter()
            .map(|(n, k)| {
                let v = self.members("Tags", ".Value").remove(&n);
                (k, v.unwrap_or_default())
            })
            .collect();
        LastRequest {
            audience: audiences.first().cloned(),
            audiences,
            duration_seconds: self.get("DurationSeconds").and_then(|d| d.parse().ok()),
            signing_algorithm: self.get("SigningAlgorithm").map(String::from),
            tags,
            access_key_id: auth.as_ref().map(|a| a.access_key_id.clone()),
            region: auth.map(|a| a.region),
            form: self
                .0
                .iter()
                .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("x-amz-"))
                .cloned()
                .collect(),
        }
    }
}

/// An authenticated caller.
pub(crate) struct Caller {
    pub identity: Identity,
    /// Region of the SigV4 credential scope.
    pub region: String,
    /// The access key id that signed (not a secret).
    pub access_key_id: String,
}

/// Checks the SigV4 signature and, for session keys, the session token.
pub(crate) fn authenticate(
    state: &State,
    req: &sigv4::Request<'_>,
    now: i64,
) -> Result<Caller, StsError> {
    let Some(header) = req.headers.get(hyper::header::AUTHORIZATION) else {
        return Err(StsError::new(
            403,
            "MissingAuthenticationToken",
            "Request is missing Authentication Token",
        ));
    };
    let header = header
        .to_str()
        .map_err(|_| StsError::new(400, "IncompleteSignature", "Invalid Authorization header"))?;
    let auth = sigv4::parse_authorization(header)?;
    let invalid = || {
        StsError::new(
            403,
            "InvalidClientTokenId",
            "The security token included in the request is invalid.",
        )
    };
    let identity = state.identity(&auth.access_key_id).ok_or_else(invalid)?;
    if let Some((token, expires_at)) = &identity.session {
        let sent = req
            .headers
            .get("x-amz-security-token")
            .map(|v| v.as_bytes());
        if sent != Some(token.as_bytes()) {
            return Err(invalid());
        }
        if now >= *expires_at {
            return Err(StsError::new(
                400,
                "ExpiredToken",
                "The security token included in the request is expired",
            ));
        }
    }
    sigv4::verify(req, &auth, &identity.secret, now)?;
    Ok(Caller {
        identity,
        region: auth.region,
        access_key_id: auth.access_key_id,
    })
}

fn invalid_value(value: &str, field: &str, constraint: &str) -> StsError {
    StsError::validation(format!(
        "1 validation error detected: Value '{value}' at '{field}' failed to satisfy \
         constraint: {constraint}"
    ))
}

fn required<'a>(params: &'a Params, name: &str, field: &str) -> Result<&'a str, StsError> {
    params.get(name).ok_or_else(|| {
        StsError::validation(format!(
            "1 validation error detected: Value null at '{field}' failed to satisfy \
             constraint: Member must not be null"
        ))
    })
}

fn integer(params: &Params, name: &str, field: &str) -> Result<Option<i64>, StsError> {
    params
        .get(name)
        .map(|v| {
            v.parse::<i64>()
                .map_err(|_| invalid_value(v, field, "Member must be an integer"))
        })
        .transpose()
}

/// Everything `GetWebIdentityToken` needs besides the request.
pub(crate) struct Issuer<'a> {
    pub keys: &'a Keys,
    pub issuer: &'a str,
    pub policy: Policy,
    /// Fault `absurd_exp`: the JWT's `exp` claim is `1e300` (the
    /// `Expiration` element stays correct).
    pub absurd_exp: bool,
}

/// `GetWebIdentityToken`: a JWT for the caller's principal.
pub(crate) fn get_web_identity_token(
    issuer: &Issuer<'_>,
    caller: &Caller,
    params: &Params,
    now: i64,
) -> Result<Vec<Node>, StsError> {
    let policy = &issuer.policy;
    let audiences = params.list("Audience");
    if audiences.is_empty() {
        return Err(StsError::validation(
            "1 validation error detected: Value null at 'audience' failed to satisfy \
             constraint: Member must not be null",
        ));
    }
    if audiences.len() > 10 {
        return Err(StsError::validation(
            "1 validation error detected: Value at 'audience' failed to satisfy constraint: \
             Member must have length less than or equal to 10",
        ));
    }
    for aud in &audiences {
        if !(1..=1000).contains(&aud.chars().count()) {
            return Err(invalid_value(
                aud,
                "audience",
                "Member must have length between 1 and 1000",
            ));
        }
    }
    let alg_name = required(params, "SigningAlgorithm", "signingAlgorithm")?;
    let alg = Algorithm::parse(alg_name)
        .filter(|a| policy.allowed_algorithms.iter().any(|p| p == a.as_str()))
        .ok_or_else(|| {
            invalid_value(
                alg_name,
                "signingAlgorithm",
                &format!(
                    "Member must satisfy enum value set: [{}]",
                    policy.allowed_algorithms.join(", ")
                ),
            )
        })?;
    let duration = integer(params, "DurationSeconds", "durationSeconds")?.unwrap_or(300);
    let max = i64::from(policy.max_duration_seconds);
    if duration < 60 {
        return Err(invalid_value(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value greater than or equal to 60",
        ));
    }
    if duration > max {
        return Err(invalid_value(
            &duration.to_string(),
            "durationSeconds",
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    let tags = params.tags()?;
    if !policy.federation_enabled {
        return Err(StsError::new(
            403,
            "OutboundWebIdentityFederationDisabledException",
            format!(
                "Outbound web identity federation is disabled for account {ACCOUNT_ID}. \
                 Enable it with EnableOutboundWebIdentityFederation before calling \
                 GetWebIdentityToken."
            ),
        ));
    }
    if let Some(allowed) = &policy.allowed_audiences {
        if !audiences.iter().all(|a| allowed.contains(a)) {
            return Err(StsError::access_denied(format!(
                "User: {} is not authorized to perform: sts:GetWebIdentityToken on resource: * \
                 because no identity-based policy allows the sts:GetWebIdentityToken action",
                caller.identity.caller_arn
            )));
        }
    }
    let exp = now + duration;
    if let Some((_, session_expiry)) = caller.identity.session {
        if exp > session_expiry {
            return Err(StsError::new(
                400,
                "SessionDurationEscalationException",
                format!(
                    "The requested token duration of {duration} seconds would extend beyond \
                     the expiration of the calling session ({}).",
                    clock::iso8601(session_expiry)
                ),
            ));
        }
    }
    let principal = &caller.identity.principal;
    // SubjectMode (absent = Caller): whose identity `sub` names.
    let subject = match params.get("SubjectMode") {
        None | Some("Caller") => principal,
        Some("OriginIdentity") => caller.identity.origin_subject.as_ref().ok_or_else(|| {
            StsError::validation(format!(
                "SubjectMode OriginIdentity requires origin identity context \
                 (aws:OriginIdentity/Subject), and the calling session of {} has none.",
                caller.identity.caller_arn
            ))
        })?,
        Some(other) => {
            return Err(invalid_value(
                other,
                "subjectMode",
                "Member must satisfy enum value set: [Caller, OriginIdentity]",
            ))
        }
    };
    let mut aws = Map::new();
    aws.insert("aws_account".into(), json!(ACCOUNT_ID));
    aws.insert("source_region".into(), json!(caller.region));
    aws.insert("principal_id".into(), json!(principal));
    if !tags.is_empty() {
        aws.insert("request_tags".into(), json!(tags));
    }
    let aud = match &audiences[..] {
        [one] => json!(one),
        many => json!(many),
    };
    let claims = json!({
        "iss": issuer.issuer,
        "sub": subject,
        "aud": aud,
        "iat": now,
        "exp": if issuer.absurd_exp { json!(1e300) } else { json!(exp) },
        "jti": uuid::Uuid::new_v4().to_string(),
        "https://sts.amazonaws.com/": Value::Object(aws),
    });
    Ok(vec![
        Node::Text("WebIdentityToken", issuer.keys.sign(alg, &claims)),
        Node::Text("Expiration", clock::iso8601(exp)),
    ])
}

/// `GetCallerIdentity`.
pub(crate) fn get_caller_identity(caller: &Caller) -> Vec<Node> {
    vec![
        Node::Text("Arn", caller.identity.caller_arn.clone()),
        Node::Text("UserId", caller.identity.user_id.clone()),
        Node::Text("Account", ACCOUNT_ID.to_string()),
    ]
}

fn name_chars_ok(s: &str, extra: &str) -> bool {
    s.chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c) || extra.contains(c))
}

/// The `<Credentials>` element of an answer that hands out a session.
fn credentials_node(creds: crate::state::SessionCredentials) -> Node {
    Node::Parent(
        "Credentials",
        vec![
            Node::Text("AccessKeyId", creds.access_key_id),
            Node::Text("SecretAccessKey", creds.secret_access_key),
            Node::Text("SessionToken", creds.session_token),
            Node::Text("Expiration", clock::iso8601(creds.expires_at)),
        ],
    )
}

/// The role name of `arn:aws:iam::123456789012:role/[path/]<name>`, or
/// `None` for a role of another account or a malformed ARN.
fn role_name_in_account(role_arn: &str) -> Option<&str> {
    role_arn
        .strip_prefix(&format!("arn:aws:iam::{ACCOUNT_ID}:role/"))
        .and_then(|path| path.rsplit('/').next())
        .filter(|name| !name.is_empty() && name_chars_ok(name, ""))
}

/// `AssumeRole` on `arn:aws:iam::123456789012:role/<name>`.
pub(crate) fn assume_role(
    state: &State,
    caller: &Caller,
    params: &Params,
) -> Result<Vec<Node>, StsError> {
    let role_arn = required(params, "RoleArn", "roleArn")?;
    let session_name = required(params, "RoleSessionName", "roleSessionName")?;
    let duration = integer(params, "DurationSeconds", "durationSeconds")?.unwrap_or(3600);
    if !(20..=2048).contains(&role_arn.len()) || !role_arn.starts_with("arn:") {
        return Err(invalid_value(
            role_arn,
            "roleArn",
            "Member must have length greater than or equal to 20 and be an ARN",
        ));
    }
    if !(2..=64).contains(&session_name.len()) || !name_chars_ok(session_name, "") {
        return Err(invalid_value(
            session_name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    if let Some(external_id) = params.get("ExternalId") {
        if !(2..=1224).contains(&external_id.len()) || !name_chars_ok(external_id, ":/") {
            return Err(invalid_value(
                external_id,
                "externalId",
                "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*",
            ));
        }
    }
    if !(900..=43_200).contains(&duration) {
        return Err(invalid_value(
            &duration.to_string(),
            "durationSeconds",
            "Member must have value between 900 and 43200",
        ));
    }
    if caller.identity.session.is_some() && duration > 3600 {
        return Err(StsError::validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed \
             by role chaining.",
        ));
    }
    let role_name = role_name_in_account(role_arn);
    let Some(role_name) = role_name else {
        return Err(StsError::access_denied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            caller.identity.caller_arn
        )));
    };
    let assumed_arn = format!("arn:aws:sts::{ACCOUNT_ID}:assumed-role/{role_name}/{session_name}");
    let assumed_id = format!("{}:{session_name}", unique_id("AROA", role_arn));
    // Role chaining keeps the origin identity context of the caller's session.
    let creds = state.issue_session_with_origin(
        role_arn,
        &assumed_arn,
        &assumed_id,
        duration,
        caller.identity.origin_subject.as_deref(),
    );
    Ok(vec![
        credentials_node(creds),
        Node::Parent(
            "AssumedRoleUser",
            vec![
                Node::Text("AssumedRoleId", assumed_id),
                Node::Text("Arn", assumed_arn),
            ],
        ),
    ])
}

/// `AssumeRoleWithWebIdentity` (unsigned: the web identity token is the
/// authentication): the token must be signed by the emulator's keys as
/// the OIDC issuer [`crate::sources::OIDC_ISSUER`] (the only OIDC provider
/// in its account), name `sts.amazonaws.com` in `aud` and not be expired;
/// the session lives `DurationSeconds` (900 to 43200) or, without it, the
/// sources' credential lifetime. Its tokens' `sub` is the role ARN.
pub(crate) fn assume_role_with_web_identity(
    state: &State,
    keys: &Keys,
    params: &Params,
    default_seconds: i64,
    now: i64,
) -> Result<Vec<Node>, StsError> {
    use crate::sources::{OIDC_ISSUER, WEB_IDENTITY_AUDIENCE};
    let role_arn = required(params, "RoleArn", "roleArn")?;
    let session_name = required(params, "RoleSessionName", "roleSessionName")?;
    let jwt = required(params, "WebIdentityToken", "webIdentityToken")?;
    let duration = integer(params, "DurationSeconds", "durationSeconds")?;
    if !(2..=64).contains(&session_name.len()) || !name_chars_ok(session_name, "") {
        return Err(invalid_value(
            session_name,
            "roleSessionName",
            "Member must satisfy regular expression pattern: [\\w+=,.@-]*",
        ));
    }
    if let Some(d) = duration.filter(|d| !(900..=43_200).contains(d)) {
        return Err(invalid_value(
            &d.to_string(),
            "durationSeconds",
            "Member must have value between 900 and 43200",
        ));
    }
    let invalid = |m: String| StsError::new(400, "InvalidIdentityToken", m);
    let claims = keys.verify(jwt).map_err(|m| invalid(m.to_string()))?;
    let iss = claims["iss"].as_str().unwrap_or("");
    if iss != OIDC_ISSUER {
        let host = iss.strip_prefix("https://").unwrap_or(iss);
        return Err(invalid(format!(
            "No OpenIDConnect provider found in your account for https://{host}"
        )));
    }
    let audiences: Vec<&str> = match &claims["aud"] {
        Value::String(a) => vec![a.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.contains(&WEB_IDENTITY_AUDIENCE) {
        return Err(invalid("Incorrect token audience".to_string()));
    }
    let exp = claims["exp"].as_i64().unwrap_or(0);
    if exp <= now {
        return Err(StsError::new(
            400,
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {} must be before the expiration date/time {}",
                clock::iso8601(now),
                clock::iso8601(exp)
            ),
        ));
    }
    let role_name = role_name_in_account(role_arn);
    if role_name.is_none() {
        return Err(StsError::access_denied(
            "Not authorized to perform sts:AssumeRoleWithWebIdentity",
        ));
    }
    let subject = claims["sub"].as_str().unwrap_or("").to_string();
    let creds = crate::sources::issue_role_session(
        state,
        role_arn,
        session_name,
        duration.unwrap_or(default_seconds),
    );
    let assumed = state
        .identity(&creds.access_key_id)
        .expect("the session just issued");
    Ok(vec![
        Node::Text("SubjectFromWebIdentityToken", subject),
        Node::Text("Audience", WEB_IDENTITY_AUDIENCE.to_string()),
        Node::Parent(
            "AssumedRoleUser",
            vec![
                Node::Text("AssumedRoleId", assumed.user_id),
                Node::Text("Arn", assumed.caller_arn),
            ],
        ),
        credentials_node(creds),
        Node::Text(
            "Provider",
            OIDC_ISSUER.trim_start_matches("https://").to_string(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_and_tag_parameters() {
        let p = Params::parse(
            "",
            Some(
                b"Action=GetWebIdentityToken&Audience.member.2=b&Audience.member.1=a%20x\
                  &Tags.member.1.Key=team&Tags.member.1.Value=platform&Tags.member.2.Key=empty",
            ),
        );
        assert_eq!(p.get("Action"), Some("GetWebIdentityToken"));
        assert_eq!(p.list("Audience"), vec!["a x", "b"]);
        let tags = p.tags().unwrap();
        assert_eq!(tags["team"], "platform");
        assert_eq!(tags["empty"], "");
    }

    #[test]
    fn tag_limits() {
        let long = "k".repeat(129);
        let p = Params::parse("", Some(format!("Tags.member.1.Key={long}").as_bytes()));
        assert_eq!(p.tags().unwrap_err().code, "ValidationError");
        let many: Vec<String> = (1..=51)
            .map(|i| format!("Tags.member.{i}.Key=k{i}"))
            .collect();
        let p = Params::parse("", Some(many.join("&").as_bytes()));
        assert_eq!(p.tags().unwrap_err().code, "ValidationError");
        let p = Params::parse("", Some(b"Tags.member.1.Value=v"));
        assert_eq!(p.tags().unwrap_err().code, "ValidationError");
    }

    #[test]
    fn web_identity_is_checked_like_an_oidc_provider() {
        use crate::sources::{SourceState, OIDC_ISSUER, WEB_IDENTITY_AUDIENCE};
        let (state, keys) = (State::new(Policy::default()), Keys::shared());
        let now = clock::now();
        let call = |claims: Value| {
            let jwt = keys.sign(Algorithm::Rs256, &claims);
            let form = form_urlencoded::Serializer::new(String::new())
                .append_pair("RoleArn", "arn:aws:iam::123456789012:role/kafka-irsa")
                .append_pair("RoleSessionName", "pod")
                .append_pair("WebIdentityToken", &jwt)
                .finish();
            assume_role_with_web_identity(
                &state,
                &keys,
                &Params::parse("", Some(form.as_bytes())),
                900,
                now,
            )
        };
        let good = SourceState::web_identity_claims(
            "system:serviceaccount:a:b",
            WEB_IDENTITY_AUDIENCE,
            now,
            60,
        );
        assert!(call(good.clone()).is_ok());
        let mut other_issuer = good.clone();
        other_issuer["iss"] = json!("https://oidc.example.com");
        let e = call(other_issuer).err().unwrap();
        assert_eq!(
            (e.code, e.message.contains("No OpenIDConnect provider")),
            ("InvalidIdentityToken", true)
        );
        let wrong_aud = SourceState::web_identity_claims("s", "kafka", now, 60);
        assert_eq!(
            call(wrong_aud).err().unwrap().message,
            "Incorrect token audience"
        );
        let expired = SourceState::web_identity_claims("s", WEB_IDENTITY_AUDIENCE, now, -1);
        assert_eq!(call(expired).err().unwrap().code, "ExpiredTokenException");
        assert_eq!(good["iss"], OIDC_ISSUER);
    }
}

//! `whoami` and `token`.

use crate::{rfc3339, CliResult, Failure, Output, Settings, EXIT_OK};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use kafka_iam_oauth::diagnose::{self, Options};
use kafka_iam_oauth::{Provider, Token};
use serde_json::{json, Map, Value};

/// The claim namespace STS puts its own claims under.
const STS_NAMESPACE: &str = "https://sts.amazonaws.com/";

/// A JWT's header, decoded (never the signature).
pub(crate) fn header(jwt: &str) -> Option<Value> {
    let part = jwt.split('.').next()?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

/// A JWT's payload, decoded without verifying.
pub(crate) fn payload(jwt: &str) -> Option<Map<String, Value>> {
    let part = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

/// STS's `principal_id`: the namespaced claim
/// `https://sts.amazonaws.com/principal_id`, or `principal_id` inside the
/// `https://sts.amazonaws.com/` object.
pub(crate) fn principal_id(claims: &Map<String, Value>) -> Option<String> {
    claims
        .get(&format!("{STS_NAMESPACE}principal_id"))
        .and_then(Value::as_str)
        .or_else(|| {
            claims
                .get(STS_NAMESPACE)
                .and_then(|o| o.get("principal_id"))
                .and_then(Value::as_str)
        })
        .map(str::to_string)
}

/// `sub`, and `principal_id` when it differs, as JSON fields and a line.
fn subject_fields(claims: &Map<String, Value>) -> (Value, Value, Option<String>) {
    let sub = claims
        .get("sub")
        .and_then(Value::as_str)
        .map(str::to_string);
    let pid = principal_id(claims).filter(|p| Some(p) != sub.as_ref());
    let line = pid
        .as_ref()
        .map(|p| format!("principal_id: {p} (differs from sub)"));
    (json!(sub), json!(pid), line)
}

pub(crate) fn whoami(out: &Output, settings: &Settings) -> CliResult {
    let report = diagnose::run(
        &settings.config,
        &settings.extensions,
        &Options::default(),
        |_| {},
    );
    if let Some(step) = report.failure() {
        let mut f = match &step.error {
            Some(e) => Failure::from(e.clone()),
            None => Failure::failed("check", step.message.clone()),
        };
        f.message = format!("{}: {}", step.check.title(), f.message);
        return Err(f);
    }
    let id = report.identity.clone().unwrap_or_default();
    let token = report.token.clone();
    let principal = token.as_ref().map(|t| t.principal().to_string());
    let caller = id.caller_arn.clone().unwrap_or_default();
    let warning = principal
        .as_ref()
        .filter(|p| **p != caller)
        .map(|p| principal_warning(&caller, p));
    let claims = token
        .as_ref()
        .map(|t| t.claims().clone())
        .unwrap_or_default();
    let (sub, pid, pid_line) = subject_fields(&claims);
    out.json(&json!({
        "ok": true,
        "credentials": {
            "provider": id.provider,
            "source": id.source,
            "profile": id.profile,
            "role_arn": id.role_arn,
        },
        "caller_arn": id.caller_arn,
        "account": id.account,
        "user_id": id.user_id,
        "region": id.region,
        "sts_endpoint": id.sts_endpoint,
        "principal": principal,
        "kafka_principal": principal.as_ref().map(|p| format!("User:{p}")),
        "sub": sub,
        "principal_id": pid,
        "warning": warning,
    }));
    out.line(&format!("credentials:     {} ({})", id.provider, id.source));
    if let Some(p) = &id.profile {
        out.line(&format!("profile:         {p}"));
    }
    if let Some(r) = &id.role_arn {
        out.line(&format!("role:            {r}"));
    }
    out.line(&format!("caller:          {caller}"));
    out.line(&format!("region:          {}", id.region));
    out.line(&format!("sts endpoint:    {}", id.sts_endpoint));
    if let Some(p) = &principal {
        out.line(&format!(
            "kafka principal: {}",
            out.bold(&format!("User:{p}"))
        ));
    }
    if let Some(l) = pid_line {
        out.line(&l);
    }
    if let Some(w) = &warning {
        out.line(&format!("{} {w}", out.yellow("warning:")));
    }
    Ok(EXIT_OK)
}

/// Why the caller ARN and the principal differ, for ACLs.
fn principal_warning(caller: &str, principal: &str) -> String {
    if caller.contains(":assumed-role/") {
        format!(
            "the caller is an assumed-role session ({caller}) but the broker sees User:{principal}: \
             ACLs must name User:{principal}, not the session ARN"
        )
    } else {
        format!(
            "the broker sees User:{principal}, not the caller ARN {caller}: ACLs must name User:{principal}"
        )
    }
}

pub(crate) fn token(out: &Output, settings: &Settings, raw: bool) -> CliResult {
    let provider = Provider::from_config(settings.parsed()?);
    let token = provider.token()?;
    if raw {
        // The one place the JWT is printed: asked for explicitly.
        let mut o = std::io::stdout().lock();
        let _ = std::io::Write::write_all(&mut o, format!("{}\n", token.value()).as_bytes());
        return Ok(EXIT_OK);
    }
    show_token(out, &token);
    Ok(EXIT_OK)
}

fn show_token(out: &Output, token: &Token) {
    let header = header(token.value()).unwrap_or(Value::Null);
    let claims = token.claims();
    let (sub, pid, pid_line) = subject_fields(claims);
    out.json(&json!({
        "ok": true,
        "principal": token.principal(),
        "kafka_principal": format!("User:{}", token.principal()),
        "expires_at": rfc3339(token.expires_at()),
        "expires_in_seconds": token.remaining().as_secs(),
        "refresh_at": rfc3339(token.refresh_at()),
        "sub": sub,
        "principal_id": pid,
        "header": header,
        "claims": claims,
    }));
    out.line(&format!(
        "principal: {}",
        out.bold(&format!("User:{}", token.principal()))
    ));
    if let Some(l) = pid_line {
        out.line(&l);
    }
    out.line(&format!(
        "expires:   {} (in {} s)",
        rfc3339(token.expires_at()),
        token.remaining().as_secs()
    ));
    out.line(&format!("header:    {header}"));
    out.line(&format!(
        "claims:    {}",
        serde_json::to_string_pretty(claims)
            .unwrap_or_default()
            .replace('\n', "\n           ")
    ));
}

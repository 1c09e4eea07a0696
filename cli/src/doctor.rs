//! `doctor`: the core's check chain (`kafka_iam_oauth::diagnose`), then,
//! with `--bootstrap`, a real SASL/OAUTHBEARER authentication and
//! metadata requests through librdkafka. Stops at the first failure; each
//! check prints a line as it finishes.

use crate::rdkafka::{
    BrokerOptions, Librdkafka, ERR_GROUP_AUTHORIZATION_FAILED, ERR_TOPIC_AUTHORIZATION_FAILED,
};
use crate::{CliResult, Common, Output, Settings, EXIT_FAILED, EXIT_OK, EXIT_USAGE};
use clap::Args;
use kafka_iam_oauth::diagnose::{self, Options, Step};
use serde_json::{json, Value};
use std::time::Duration;

#[derive(Args, Debug)]
pub(crate) struct DoctorArgs {
    /// Also authenticate to this broker (else bootstrap.servers of --properties when given)
    #[arg(long, value_name = "HOST:PORT")]
    bootstrap: Option<String>,
    /// CA certificate for the broker's TLS (else ssl.ca.location of --properties)
    #[arg(long, value_name = "FILE")]
    ca: Option<String>,
    /// security.protocol: SASL_SSL (default) or SASL_PLAINTEXT (else from --properties)
    #[arg(long, value_name = "PROTOCOL")]
    security_protocol: Option<String>,
    /// The broker's sasl.oauthbearer.expected.issuer, checked against the token's iss
    #[arg(long, value_name = "URL")]
    issuer: Option<String>,
    /// The broker's sasl.oauthbearer.expected.audience, checked against the token's aud
    #[arg(long, value_name = "AUDIENCE")]
    audience: Option<String>,
    /// Check Describe on this topic at the broker
    #[arg(long, value_name = "TOPIC")]
    topic: Option<String>,
    /// Check Describe on this consumer group at the broker
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// librdkafka to load (default: librdkafka.so.1 from the loader's path)
    #[arg(long, value_name = "PATH")]
    librdkafka: Option<String>,
    /// Seconds to wait for the broker
    #[arg(long, value_name = "SECONDS", default_value_t = 15)]
    broker_timeout: u64,
}

/// The broker checks' names, after the core's (`diagnose::Check::name`).
pub(crate) const BROKER_CHECKS: [(&str, &str); 5] = [
    ("librdkafka", "librdkafka loaded"),
    ("broker_connect", "broker reachable"),
    ("broker_auth", "SASL/OAUTHBEARER authentication accepted"),
    ("topic_access", "topic access (Describe)"),
    ("group_access", "consumer group access (Describe)"),
];

fn title(name: &str) -> &'static str {
    BROKER_CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, t)| *t)
        .unwrap_or("")
}

/// One line of output / one JSON step.
struct Line {
    name: &'static str,
    title: &'static str,
    verdict: &'static str,
    message: String,
    error: Value,
}

pub(crate) fn run(out: &Output, common: &Common, args: &DoctorArgs) -> CliResult {
    let settings = Settings::resolve(common)?;
    let options = Options {
        expected_issuer: args.issuer.clone(),
        expected_audience: args.audience.clone(),
    };
    let mut lines: Vec<Line> = Vec::new();
    let show = |out: &Output, line: Line, lines: &mut Vec<Line>| {
        out.line(&format!(
            "[{}] {}: {}",
            out.verdict(line.verdict),
            line.title,
            line.message
        ));
        lines.push(line);
    };
    let report = diagnose::run(
        &settings.config,
        &settings.extensions,
        &options,
        |step: &Step| {
            let line = Line {
            name: step.check.name(),
            title: step.check.title(),
            verdict: step.verdict.as_str(),
            message: step.message.clone(),
            error: step
                .error
                .as_ref()
                .map(|e| {
                    json!({"kind": crate::error_kind_name(e.kind()), "message": e.message(), "aws_code": e.aws_code()})
                })
                .unwrap_or(Value::Null),
        };
            show(out, line, &mut lines);
        },
    );
    let config_failed = report
        .failure()
        .is_some_and(|s| s.check == diagnose::Check::Config);
    let bootstrap = args
        .bootstrap
        .clone()
        .or_else(|| settings.property("bootstrap.servers").map(str::to_string));
    if report.passed() {
        if let (Some(bootstrap), Some(token)) = (bootstrap, report.token.as_ref()) {
            let opts = BrokerOptions {
                bootstrap,
                security_protocol: args
                    .security_protocol
                    .clone()
                    .or_else(|| settings.property("security.protocol").map(str::to_string))
                    .unwrap_or_else(|| "SASL_SSL".into()),
                ca_location: args
                    .ca
                    .clone()
                    .or_else(|| settings.property("ssl.ca.location").map(str::to_string)),
                topic: args.topic.clone(),
                group: args.group.clone(),
                timeout: Duration::from_secs(args.broker_timeout.max(1)),
            };
            for line in broker_lines(
                args.librdkafka.as_deref(),
                &opts,
                token.value(),
                token.principal(),
            ) {
                show(out, line, &mut lines);
            }
        }
    }
    let failed = lines.iter().find(|l| l.verdict == "fail");
    let code = match failed {
        None => EXIT_OK,
        Some(_) if config_failed => EXIT_USAGE,
        Some(_) => EXIT_FAILED,
    };
    let identity = report.identity.as_ref().map(|id| {
        json!({
            "provider": id.provider, "source": id.source, "profile": id.profile, "role_arn": id.role_arn,
            "caller_arn": id.caller_arn, "account": id.account, "region": id.region, "sts_endpoint": id.sts_endpoint,
        })
    });
    out.json(&json!({
        "ok": failed.is_none(),
        "exit_code": code,
        "failed_step": failed.map(|l| l.name),
        "principal": report.token.as_ref().map(|t| t.principal()),
        "identity": identity,
        "steps": lines.iter().map(|l| json!({
            "name": l.name, "title": l.title, "verdict": l.verdict, "message": l.message, "error": l.error,
        })).collect::<Vec<_>>(),
    }));
    match failed {
        None => out.line(&out.green("all checks passed")),
        Some(l) => out.line(&format!("{} at: {}", out.red("failed"), l.title)),
    }
    Ok(code)
}

/// The broker checks, in order, up to the first failure.
fn broker_lines(
    library: Option<&str>,
    opts: &BrokerOptions,
    jwt: &str,
    principal: &str,
) -> Vec<Line> {
    let line = |name: &'static str, pass: bool, message: String| Line {
        name,
        title: title(name),
        verdict: if pass { "pass" } else { "fail" },
        message,
        error: Value::Null,
    };
    let mut lines = Vec::new();
    let rd = match Librdkafka::open(library) {
        Ok(rd) => rd,
        Err(e) => {
            lines.push(line("librdkafka", false, e));
            return lines;
        }
    };
    lines.push(line(
        "librdkafka",
        true,
        format!("{} ({})", rd.version(), rd.path),
    ));
    let verdict = match rd.check_broker(opts, jwt, principal) {
        Ok(v) => v,
        Err(e) => {
            lines.push(line("broker_connect", false, e));
            return lines;
        }
    };
    match verdict.connected {
        Ok(()) => lines.push(line(
            "broker_connect",
            true,
            format!("{} over {}", opts.bootstrap, opts.security_protocol),
        )),
        Err(e) => {
            lines.push(line(
                "broker_connect",
                false,
                format!(
                    "no broker answered at {} over {}: {e}. Check the address, the port of the {} listener{}",
                    opts.bootstrap,
                    opts.security_protocol,
                    opts.security_protocol,
                    if opts.security_protocol == "SASL_SSL" { " and --ca" } else { "" }
                ),
            ));
            return lines;
        }
    }
    match verdict.authenticated {
        Ok(()) => lines.push(line("broker_auth", true, format!("as User:{principal}"))),
        Err(e) => {
            lines.push(line(
                "broker_auth",
                false,
                format!(
                    "the broker refused the token: {e}. Compare the token's iss and aud (kafka-iam-oauth token) with the broker's \
                     sasl.oauthbearer.expected.issuer / expected.audience and its JWKS URL (or run doctor with --issuer and --audience)"
                ),
            ));
            return lines;
        }
    }
    if let Some(result) = verdict.topic {
        let topic = opts.topic.as_deref().unwrap_or_default();
        match result {
            Ok(()) => lines.push(line(
                "topic_access",
                true,
                format!("Describe on topic {topic}"),
            )),
            Err((code, text)) => {
                let advice = if code == ERR_TOPIC_AUTHORIZATION_FAILED {
                    format!(
                        "User:{principal} has no ACL on topic {topic}: grant it (kafka-iam-oauth acls --topic {topic} --produce --principal {principal}, or --consume --group G)"
                    )
                } else {
                    format!("topic {topic}: {text}")
                };
                lines.push(line("topic_access", false, advice));
                return lines;
            }
        }
    }
    if let Some(result) = verdict.group {
        let group = opts.group.as_deref().unwrap_or_default();
        match result {
            Ok(()) => lines.push(line(
                "group_access",
                true,
                format!("Describe on group {group}"),
            )),
            Err((code, text)) => {
                let advice = if code == ERR_GROUP_AUTHORIZATION_FAILED {
                    format!(
                        "User:{principal} has no ACL on consumer group {group}: grant Read on it (kafka-iam-oauth acls --topic {} --group {group} --consume --principal {principal})",
                        opts.topic.as_deref().unwrap_or("TOPIC")
                    )
                } else {
                    format!("group {group}: {text}")
                };
                lines.push(line("group_access", false, advice));
            }
        }
    }
    lines
}

//! `acls`: the commands that grant a principal what the Aiven guide grants
//! for its produce/consume example: Describe + Write (produce) and
//! Describe + Read (consume) on the topic, Read on the consumer group.
//! Printed, never run.

use crate::{CliResult, Common, Failure, Output, Settings, EXIT_OK};
use clap::{Args, ValueEnum};
use kafka_iam_oauth::Provider;
use serde_json::json;

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    /// `avn service kafka-acl-add` (Aiven's Kafka-native ACLs)
    Avn,
    /// Apache Kafka's `kafka-acls.sh --add`
    KafkaAcls,
}

#[derive(Args, Debug)]
pub(crate) struct AclsArgs {
    /// The topic
    #[arg(long, value_name = "TOPIC")]
    topic: String,
    /// The consumer group (consumers)
    #[arg(long, value_name = "GROUP")]
    group: Option<String>,
    /// Grant producing (Describe, Write on the topic)
    #[arg(long)]
    produce: bool,
    /// Grant consuming (Describe, Read on the topic; Read on the group)
    #[arg(long)]
    consume: bool,
    /// The IAM principal ARN (default: the principal of a token minted with the configuration)
    #[arg(long, value_name = "ARN")]
    principal: Option<String>,
    /// Output format
    #[arg(long, value_enum, default_value = "kafka-acls")]
    format: Format,
    /// Aiven project (avn)
    #[arg(long, value_name = "PROJECT", default_value = "<project>")]
    project: String,
    /// Aiven service (avn)
    #[arg(long, value_name = "SERVICE", default_value = "<service>")]
    service: String,
    /// --bootstrap-server for kafka-acls.sh
    #[arg(long, value_name = "HOST:PORT", default_value = "<bootstrap>")]
    bootstrap_server: String,
    /// --command-config for kafka-acls.sh (the admin client's properties)
    #[arg(long, value_name = "FILE")]
    command_config: Option<String>,
}

/// One grant: resource type, name, operation.
struct Grant {
    resource: &'static str,
    name: String,
    operation: &'static str,
}

pub(crate) fn run(out: &Output, common: &Common, args: &AclsArgs) -> CliResult {
    let principal = match &args.principal {
        Some(p) => p.clone(),
        None => {
            let settings = Settings::resolve(common)?;
            Provider::from_config(settings.parsed()?)
                .token()?
                .principal()
                .to_string()
        }
    };
    if principal.trim().is_empty() {
        return Err(Failure::usage("--principal is empty"));
    }
    // Neither flag: both, as the guide's example does.
    let (produce, consume) = if args.produce || args.consume {
        (args.produce, args.consume)
    } else {
        (true, true)
    };
    let mut grants = vec![Grant {
        resource: "topic",
        name: args.topic.clone(),
        operation: "Describe",
    }];
    if produce {
        grants.push(Grant {
            resource: "topic",
            name: args.topic.clone(),
            operation: "Write",
        });
    }
    if consume {
        grants.push(Grant {
            resource: "topic",
            name: args.topic.clone(),
            operation: "Read",
        });
        match &args.group {
            Some(g) => grants.push(Grant {
                resource: "group",
                name: g.clone(),
                operation: "Read",
            }),
            None => {
                return Err(Failure::usage(
                    "consuming needs --group (the consumer group to grant Read on), or give --produce only",
                ))
            }
        }
    }
    let kafka_principal = format!("User:{principal}");
    let commands = match args.format {
        Format::Avn => avn(args, &kafka_principal, &grants),
        Format::KafkaAcls => kafka_acls(args, &kafka_principal, &grants),
    };
    out.json(&json!({
        "ok": true,
        "principal": kafka_principal,
        "acls": grants.iter().map(|g| json!({
            "resource_type": g.resource, "resource_name": g.name, "operation": g.operation,
            "permission": "Allow", "host": "*", "pattern_type": "LITERAL",
        })).collect::<Vec<_>>(),
        "commands": commands,
    }));
    for c in &commands {
        out.line(c);
    }
    Ok(EXIT_OK)
}

/// `'text'` for a POSIX shell.
fn quote(text: &str) -> String {
    if !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@=,+".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

/// One `avn service kafka-acl-add` per grant (it takes one operation).
fn avn(args: &AclsArgs, principal: &str, grants: &[Grant]) -> Vec<String> {
    grants
        .iter()
        .map(|g| {
            format!(
                "avn service kafka-acl-add {} --project {} --principal {} --operation {} --{} {}",
                quote(&args.service),
                quote(&args.project),
                quote(principal),
                g.operation,
                g.resource,
                quote(&g.name)
            )
        })
        .collect()
}

/// One `kafka-acls.sh --add` per resource, with its operations.
fn kafka_acls(args: &AclsArgs, principal: &str, grants: &[Grant]) -> Vec<String> {
    let mut resources: Vec<(&str, &str)> = Vec::new();
    for g in grants {
        if !resources.contains(&(g.resource, g.name.as_str())) {
            resources.push((g.resource, g.name.as_str()));
        }
    }
    resources
        .into_iter()
        .map(|(resource, name)| {
            let ops: Vec<String> = grants
                .iter()
                .filter(|g| g.resource == resource && g.name == name)
                .map(|g| format!("--operation {}", g.operation))
                .collect();
            format!(
                "kafka-acls.sh --bootstrap-server {}{} --add --allow-principal {} {} --{} {}",
                quote(&args.bootstrap_server),
                args.command_config
                    .as_deref()
                    .map(|c| format!(" --command-config {}", quote(c)))
                    .unwrap_or_default(),
                quote(principal),
                ops.join(" "),
                resource,
                quote(name)
            )
        })
        .collect()
}

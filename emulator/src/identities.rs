//! The built-in IAM users: the one definition every test suite reads,
//! Rust through this crate, everything else through the variables
//! `kafka-iam-oauth-emulator --print-identities` prints (the harness copies
//! them into `$KIO_RUN_DIR/env.sh`).

/// The AWS account every identity belongs to.
pub const ACCOUNT_ID: &str = "123456789012";

/// A built-in IAM user (test credentials, not secrets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct User {
    /// Its variables are `KIO_<env_name>_ACCESS_KEY_ID`,
    /// `KIO_<env_name>_SECRET_ACCESS_KEY` and `KIO_<env_name>_ARN`.
    pub env_name: &'static str,
    /// `AKIA...`
    pub access_key_id: &'static str,
    /// The secret access key that signs its requests.
    pub secret_access_key: &'static str,
    /// Its principal ARN: `sub` of the tokens it mints, the broker's principal.
    pub arn: &'static str,
}

/// `my-iam-user`: the harness gives it the Aiven-guide ACLs (topic and group).
pub const USER: User = User {
    env_name: "USER",
    access_key_id: "AKIAEMULATORUSER0001",
    secret_access_key: "emulator-secret-my-iam-user",
    arn: "arn:aws:iam::123456789012:user/my-iam-user",
};

/// `no-acl-user`: topic ACLs only, so consuming in a group is refused.
pub const NO_ACL_USER: User = User {
    env_name: "NOACL",
    access_key_id: "AKIAEMULATORUSER0002",
    secret_access_key: "emulator-secret-no-acl-user",
    arn: "arn:aws:iam::123456789012:user/no-acl-user",
};

/// Every built-in IAM user.
pub const USERS: [User; 2] = [USER, NO_ACL_USER];

/// An IAM role the emulator's credential sources hand out sessions of
/// (IRSA, EKS Pod Identity, ECS, EC2, IAM Identity Center). Its sessions'
/// tokens have the role ARN as `sub`, as STS documents for assumed-role
/// sessions, so the broker sees the role ARN as principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Role {
    /// Its variable is `KIO_<env_name>_ROLE_ARN`.
    pub env_name: &'static str,
    /// The role's name (last part of the ARN).
    pub name: &'static str,
    /// The role ARN.
    pub arn: &'static str,
}

/// The role of the EKS service account (IRSA, `AWS_ROLE_ARN`).
pub const IRSA_ROLE: Role = Role {
    env_name: "IRSA",
    name: "kafka-irsa",
    arn: "arn:aws:iam::123456789012:role/kafka-irsa",
};

/// The EC2 instance profile's role (what IMDS serves by default).
pub const INSTANCE_ROLE: Role = Role {
    env_name: "INSTANCE",
    name: "kafka-ec2-instance",
    arn: "arn:aws:iam::123456789012:role/kafka-ec2-instance",
};

/// The role of an EKS Pod Identity association.
pub const POD_IDENTITY_ROLE: Role = Role {
    env_name: "POD_IDENTITY",
    name: "kafka-pod-identity",
    arn: "arn:aws:iam::123456789012:role/kafka-pod-identity",
};

/// An ECS task role.
pub const ECS_TASK_ROLE: Role = Role {
    env_name: "ECS_TASK",
    name: "kafka-ecs-task",
    arn: "arn:aws:iam::123456789012:role/kafka-ecs-task",
};

/// The role IAM Identity Center creates for the `KafkaProducer` permission
/// set (its path is `aws-reserved/sso.amazonaws.com/`).
pub const SSO_ROLE: Role = Role {
    env_name: "SSO",
    name: "AWSReservedSSO_KafkaProducer_0123456789abcdef",
    arn: "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_KafkaProducer_0123456789abcdef",
};

/// Every role of the credential sources.
pub const ROLES: [Role; 5] = [
    IRSA_ROLE,
    INSTANCE_ROLE,
    POD_IDENTITY_ROLE,
    ECS_TASK_ROLE,
    SSO_ROLE,
];

/// `NAME=VALUE` lines, one per variable, for every user in [`USERS`]:
/// `KIO_USER_ACCESS_KEY_ID=AKIA...`, ... (what `--print-identities` prints),
/// then `KIO_<ROLE>_ROLE_ARN=...` for every role in [`ROLES`].
/// Values need no shell quoting.
pub fn identity_variables() -> String {
    let mut out = String::new();
    for u in USERS {
        for (field, value) in [
            ("ACCESS_KEY_ID", u.access_key_id),
            ("SECRET_ACCESS_KEY", u.secret_access_key),
            ("ARN", u.arn),
        ] {
            out.push_str(&format!("KIO_{}_{field}={value}\n", u.env_name));
        }
    }
    for r in ROLES {
        out.push_str(&format!("KIO_{}_ROLE_ARN={}\n", r.env_name, r.arn));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_shell_safe_and_name_every_user() {
        let vars = identity_variables();
        assert_eq!(vars.lines().count(), 3 * USERS.len() + ROLES.len());
        assert!(vars.contains(&format!("KIO_IRSA_ROLE_ARN={}\n", IRSA_ROLE.arn)));
        assert!(vars.contains(&format!("KIO_USER_ARN={}\n", USER.arn)));
        assert!(vars.contains(&format!(
            "KIO_NOACL_ACCESS_KEY_ID={}\n",
            NO_ACL_USER.access_key_id
        )));
        for line in vars.lines() {
            let (name, value) = line.split_once('=').unwrap();
            assert!(name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'));
            assert!(value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b":/-_.".contains(&b)));
        }
        for u in USERS {
            assert!(u
                .arn
                .starts_with(&format!("arn:aws:iam::{ACCOUNT_ID}:user/")));
        }
        for r in ROLES {
            assert!(r
                .arn
                .starts_with(&format!("arn:aws:iam::{ACCOUNT_ID}:role/")));
            assert!(r.arn.ends_with(&format!("/{}", r.name)));
        }
    }
}

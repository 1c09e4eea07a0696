//! `acls`.
use crate::{CliResult, Common, Failure, Output};
use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct AclsArgs {}

pub(crate) fn run(_out: &Output, _common: &Common, _a: &AclsArgs) -> CliResult {
    Err(Failure::usage("not yet"))
}

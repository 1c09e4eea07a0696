//! `verify`.
use crate::{CliResult, Common, Failure, Output};
use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct VerifyArgs {}

pub(crate) fn run(_out: &Output, _common: &Common, _a: &VerifyArgs) -> CliResult {
    Err(Failure::usage("not yet"))
}

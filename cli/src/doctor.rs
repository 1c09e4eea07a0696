//! `doctor`.
use crate::{CliResult, Common, Failure, Output};
use clap::Args;

#[derive(Args, Debug)]
pub(crate) struct DoctorArgs {}

pub(crate) fn run(_out: &Output, _common: &Common, _a: &DoctorArgs) -> CliResult {
    Err(Failure::usage("not yet"))
}

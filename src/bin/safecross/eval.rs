//! `safecross eval` (being written).

use std::process::ExitCode;

/// Arguments of `safecross eval`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross eval` is not available in this build yet")
}

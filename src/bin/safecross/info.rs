//! `safecross info` (being written).

use std::process::ExitCode;

/// Arguments of `safecross info`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross info` is not available in this build yet")
}

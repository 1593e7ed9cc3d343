//! `safecross run` (being written).

use std::process::ExitCode;

/// Arguments of `safecross run`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross run` is not available in this build yet")
}

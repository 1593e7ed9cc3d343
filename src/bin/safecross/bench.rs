//! `safecross bench` (being written).

use std::process::ExitCode;

/// Arguments of `safecross bench`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross bench` is not available in this build yet")
}

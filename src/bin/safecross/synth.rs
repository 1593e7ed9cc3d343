//! `safecross synth` (being written).

use std::process::ExitCode;

/// Arguments of `safecross synth`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross synth` is not available in this build yet")
}

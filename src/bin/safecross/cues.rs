//! `safecross cues` (being written).

use std::process::ExitCode;

/// Arguments of `safecross cues`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross cues` is not available in this build yet")
}

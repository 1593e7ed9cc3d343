//! `safecross detect` (being written).

use std::process::ExitCode;

/// Arguments of `safecross detect`.
#[derive(clap::Args)]
pub struct Args {}

pub fn execute(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("`safecross detect` is not available in this build yet")
}

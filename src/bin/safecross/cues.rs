//! `safecross cues`: renders what the user would hear for one state into a WAV file,
//! so it can be checked by ear and by program.

use anyhow::Context;
use safecross::cue::{AudioOutput, CueConfig, CueMode, CuePlayer, Lang};
use safecross::signal::{Basis, SignalState};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `safecross cues`.
#[derive(clap::Args)]
pub struct Args {
    /// State whose cue to render: walk, dont_walk, changing or unknown.
    #[arg(long)]
    state: SignalState,
    /// Kind of signal the state rests on: pedestrian or vehicle.
    #[arg(long, default_value = "pedestrian")]
    basis: Basis,
    /// Length of the rendering, s.
    #[arg(long, default_value_t = 5.0, value_parser = crate::common::positive, allow_negative_numbers = true)]
    seconds: f64,
    /// Output WAV file (mono, 16-bit).
    #[arg(long)]
    out: PathBuf,
    /// Language of the spoken message: en or zh.
    #[arg(long, default_value = "en")]
    lang: Lang,
    /// What to hear: tones, speech or both.
    #[arg(long, default_value = "both")]
    mode: CueMode,
    /// Volume, 0 to 1.
    #[arg(long, default_value_t = CueConfig::default().volume, value_parser = crate::common::fraction_f32, allow_negative_numbers = true)]
    volume: f32,
    /// Sample rate of the WAV file, Hz.
    #[arg(long, default_value_t = CueConfig::default().sample_rate_hz)]
    sample_rate: u32,
}

pub fn execute(args: Args) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        args.seconds.is_finite() && args.seconds > 0.0 && args.seconds <= 3600.0,
        "--seconds must be in (0, 3600], got {}",
        args.seconds
    );
    let config = CueConfig {
        mode: args.mode,
        lang: args.lang,
        volume: args.volume,
        sample_rate_hz: args.sample_rate,
        ..CueConfig::default()
    };
    let basis = if args.state == SignalState::Unknown { Basis::None } else { args.basis };
    let mut player = CuePlayer::open(config, AudioOutput::Wav(args.out.clone()))
        .with_context(|| format!("opening {}", args.out.display()))?;
    // A head is in view unless the state is unknown (then it says "looking").
    let seen = args.state != SignalState::Unknown;
    if let Some(a) = player.update(0.0, args.state, basis, seen).context("rendering the cue")? {
        outln!("{}", serde_json::to_string(&a).context("encoding the announcement")?);
    }
    player.update(args.seconds, args.state, basis, seen).context("rendering the cue")?;
    player.finish().with_context(|| format!("finishing {}", args.out.display()))?;
    eprintln!("wrote {} ({} s of {})", args.out.display(), args.seconds, args.state);
    Ok(ExitCode::SUCCESS)
}

//! Decide stage: turns each frame's detections into one steady decision the user can
//! act on: walk, don't walk, changing, or unknown.
//!
//! Two steps, each one type with `new(config)` and one verb:
//!
//! ```text
//! &[Detection] --Selector::select--> Observation --Smoother::update--> Decision
//!                (which head is ours)               (what it means, over time)
//! ```
//!
//! - [`Selector`] tracks signal heads across frames (IoU or centre distance), prefers
//!   pedestrian signals over vehicle signals, and among several picks the one most
//!   likely facing the user (size, position, how steadily it is seen). A new box must
//!   be seen for a while before it can be chosen, so one spurious box cannot take over.
//! - [`GlowCheck`] looks at the chosen head's own pixels when it reads walk: a lamp
//!   that has lost its colour and brightness is handed on as seen dark, whatever
//!   figure the model read there (the dark half of a flashing walk figure).
//! - [`Smoother`] is a state machine over time in seconds (not frames). Entering walk
//!   needs more evidence than leaving it; when unsure it says unknown or wait, never
//!   walk. Its module documentation says in plain words what the user hears.
//!
//! The hand-over type between the two, [`Observation`], lives here because only this
//! stage produces and consumes it. The pipeline passes the [`Decision`]'s
//! [`SignalState`](crate::signal::SignalState) and [`Basis`] on to the cue stage.
//!
//! Imports: `geom`, `signal`.

mod glow;
mod scene;
mod select;
mod smoother;

pub use glow::{GlowCheck, GlowConfig};
pub use scene::DarkCheck;
pub use select::{SelectConfig, Selector};
pub use smoother::{Decision, Smoother, SmootherConfig};

use crate::geom::BBox;
use crate::signal::{Basis, SignalMeaning};

/// What the chosen signal head shows in one frame: the hand-over from [`Selector`] to
/// [`Smoother`].
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Observation {
    /// What the chosen head shows in this frame; `None` when no head was chosen or the
    /// chosen head was not detected in this frame. [`SignalMeaning::Off`] means the
    /// head was seen with no lamp lit (dark phase of a blink, or switched off).
    pub shows: Option<SignalMeaning>,
    /// Detector confidence of what is shown, in `[0, 1]`; 0 when `shows` is `None`.
    pub confidence: f32,
    /// Whether the chosen head is a pedestrian or a vehicle signal.
    pub basis: Basis,
    /// Relevant signals disagree: the chosen head was detected as both walk and stop,
    /// or another head, about as likely to be the user's, shows the opposite.
    pub conflict: bool,
    /// The chosen head has behaved like a pedestrian signal and is large enough to be
    /// told from a lamp: it was read as a stop figure before, and its box is at least
    /// `[select] proven_min_height` tall. The smoother takes a weaker walk reading from
    /// such a head (`[smoother] proven_walk_min_confidence`).
    pub proven: bool,
    /// The frame cannot show a signal: the whole scene is too dark, the picture has
    /// been frozen for too long, or the model's output for it was not valid. The
    /// selector cannot see pixels and leaves this `false`; the pipeline sets it from the
    /// frame's brightness, the source's freeze check and the decoder's output check. The
    /// smoother treats it like seeing no signal.
    pub dark: bool,
    /// Identity of the chosen track, stable while the same head is followed.
    pub track_id: Option<u32>,
    /// Box of the chosen head in frame px (its last known position).
    pub bbox: Option<BBox>,
}

impl Observation {
    /// An observation of nothing at all: no head chosen.
    pub fn nothing() -> Self {
        Self::default()
    }
}

/// Why a decide config cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DecideError {
    /// A config value is out of its allowed range.
    #[error("decide config: {field} = {value} is out of range {range}")]
    Config {
        /// Field name.
        field: &'static str,
        /// Given value.
        value: f64,
        /// Allowed range.
        range: &'static str,
    },
}

/// Checks that `value` lies in `[lo, hi]`, naming `field` otherwise.
fn check_range(field: &'static str, value: f64, lo: f64, hi: f64, range: &'static str) -> Result<(), DecideError> {
    if value.is_finite() && (lo..=hi).contains(&value) {
        Ok(())
    } else {
        Err(DecideError::Config { field, value, range })
    }
}

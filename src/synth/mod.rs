//! Synthetic crossings: the scene generator behind `safecross synth`.
//!
//! It owns everything needed to make test scenes and training data without real
//! footage: a seeded PRNG ([`rng::Rng`]), a float RGB [`canvas::Canvas`] with camera
//! effects, signal heads drawn from signed distance functions ([`head`]), procedural
//! streets ([`scene`]), training stills with YOLO labels ([`stills`]), and crossing
//! clips with ground-truth timelines ([`clip`]).
//!
//! Two design families ([`Designs`]): `train`, every head style and street the training
//! data were made with, and `heldout` ([`heldout`]): head styles, figure drawings, lamp
//! kinds, housings, streets and camera effects that training never saw, for a test set
//! that is held out by design and not only by seed.
//!
//! Imports: `geom`, `signal`, `truth` (vocabulary) and external crates only.
//!
//! Design notes:
//! - Everything random comes from one seeded xoshiro256** generator written here, never
//!   from `rand`, so a seed reproduces a still or a clip byte for byte.
//! - Shapes are analytic (signed distances) and sampled several times per pixel, so a
//!   head 5 px tall still has the right mix of colours, as a real camera would see it.
//! - Labels are the housing box of every head, whatever it shows, so the box is the same
//!   for `red`, `ped_walk` and `off`.

pub mod canvas;
pub mod clip;
pub mod cycle;
mod design;
mod golden;
pub mod head;
pub mod heldout;
pub mod rng;
pub mod scene;
pub mod sdf;
pub mod stills;
#[cfg(feature = "video")]
pub mod video;

#[cfg(feature = "video")]
pub use clip::write_clip;
pub use clip::{ClipConfig, Preset, render_clip};
pub use stills::{Still, StillLabel, StillsConfig, StillsSummary, render_still, write_stills};

use std::path::PathBuf;

/// Which family of designs heads, streets and camera effects are drawn from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Designs {
    /// The designs every training set, sample and test was made with (default; a seed
    /// gives byte for byte what it gave before the held-out family existed).
    #[default]
    Train,
    /// Designs that training never saw: Japanese, Korean, British and stacked or outline
    /// US heads with their own figure drawings, incandescent lamps and other LED pitches,
    /// visors, other housing colours, stronger viewing angles, other streets (dusk
    /// skylines, avenues of trees, glass towers, low-rise streets with overhead wires)
    /// and camera effects (block artefacts, colour casts, vignetting, night flare).
    Heldout,
}

impl Designs {
    /// All families.
    pub const ALL: [Designs; 2] = [Designs::Train, Designs::Heldout];

    /// The name used on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Designs::Train => "train",
            Designs::Heldout => "heldout",
        }
    }
}

impl std::str::FromStr for Designs {
    type Err = crate::signal::UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        crate::signal::parse_named("design family", s, &Self::ALL, Self::name)
    }
}

/// Why generation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SynthError {
    /// An output file or folder could not be written.
    #[error("cannot write {path}")]
    Write {
        /// The path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// An input file or folder could not be read.
    #[error("cannot read {path}")]
    Read {
        /// The path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// A background photo could not be decoded or resized.
    #[error("cannot use image {path}: {detail}")]
    Image {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// A background dataset's `data.yaml` or label line cannot be read.
    #[error("{path}:{line}: {message}")]
    Dataset {
        /// The `data.yaml` or label file.
        path: PathBuf,
        /// 1-based line (0 when the whole file is at fault).
        line: usize,
        /// What is wrong, naming the field.
        message: String,
    },
    /// The background folders hold no usable images.
    #[error(
        "no usable background images in {dirs} (.jpg, .jpeg or .png; a clip needs labelled photos with no pedestrian head)"
    )]
    NoBackgrounds {
        /// The folders searched.
        dirs: String,
    },
    /// A setting is out of range.
    #[error("setting `{field}`: {message}")]
    Config {
        /// The setting.
        field: &'static str,
        /// What is wrong.
        message: String,
    },
    /// JPEG or H.264 encoding failed.
    #[error("encoder: {0}")]
    Encode(String),
    /// The MP4 could not be written.
    #[error("cannot write MP4 {path}: {detail}")]
    Mux {
        /// The path.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
}

//! The whole configuration: one field per stage, each stage's config living beside
//! its code. Precedence is defaults < TOML file (`--config`) < command-line flags; the
//! binary applies the flags after [`Config::load`].

use crate::cue::{CueConfig, CueError};
use crate::decide::{DecideError, GlowConfig, SelectConfig, SmootherConfig};
use crate::decode::{DecodeConfig, DecodeError};
use crate::infer::{InferConfig, InferConfigError, ModelConfig};
use crate::look::{ZoomConfig, ZoomConfigError};
use crate::source::{SourceConfig, SourceConfigError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Every stage's settings.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Model file and class names.
    pub model: ModelConfig,
    /// Frame sources.
    pub source: SourceConfig,
    /// Inference engine.
    pub infer: InferConfig,
    /// Output decoding.
    pub decode: DecodeConfig,
    /// The second, closer look at a small head the full view missed.
    pub zoom: ZoomConfig,
    /// Which signal is the user's.
    pub select: SelectConfig,
    /// Whether the chosen walk lamp is still lit, from its pixels.
    pub glow: GlowConfig,
    /// From observations to a steady decision.
    pub smoother: SmootherConfig,
    /// What the user hears.
    pub cue: CueConfig,
    /// Frames whose mean brightness (0-255) is below this are treated as dark: the
    /// lens is covered or the scene is black, and no signal can be seen; default 12.
    pub dark_mean_luma: f32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            model: ModelConfig::default(),
            source: SourceConfig::default(),
            infer: InferConfig::default(),
            decode: DecodeConfig::default(),
            zoom: ZoomConfig::default(),
            select: SelectConfig::default(),
            glow: GlowConfig::default(),
            smoother: SmootherConfig::default(),
            cue: CueConfig::default(),
            dark_mean_luma: 12.0,
        }
    }
}

/// Why a config file was rejected.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config {path}")]
    Io {
        /// File path.
        path: PathBuf,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The TOML is malformed, has an unknown key, or a value of the wrong type.
    #[error("config {path}: {message}")]
    Parse {
        /// File path.
        path: PathBuf,
        /// The TOML parser's message (names the key and line).
        message: String,
    },
    /// A `[source]` value is out of range.
    #[error(transparent)]
    Source(#[from] SourceConfigError),
    /// An `[infer]` value is out of range.
    #[error(transparent)]
    Infer(#[from] InferConfigError),
    /// A `[decode]` value is out of range.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A `[zoom]` value is out of range.
    #[error(transparent)]
    Zoom(#[from] ZoomConfigError),
    /// A `[select]` or `[smoother]` value is out of range.
    #[error(transparent)]
    Decide(#[from] DecideError),
    /// A `[cue]` value is out of range.
    #[error(transparent)]
    Cue(#[from] CueError),
    /// `dark_mean_luma` is out of range.
    #[error("dark_mean_luma = {0} is out of range [0, 255]")]
    DarkMeanLuma(f32),
}

impl Config {
    /// Reads a TOML file over the defaults and validates it.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and the key at fault.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Io { path: path.to_path_buf(), source })?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.to_path_buf(), message: e.to_string().replace('\n', " ") })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks value ranges, stage by stage.
    ///
    /// # Errors
    /// [`ConfigError`] naming the key.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.source.validate()?;
        self.infer.validate()?;
        self.decode.validate()?;
        self.zoom.validate()?;
        self.select.validate()?;
        self.glow.validate()?;
        self.smoother.validate()?;
        self.cue.validate()?;
        if !(0.0..=255.0).contains(&self.dark_mean_luma) {
            return Err(ConfigError::DarkMeanLuma(self.dark_mean_luma));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::SignalMeaning;

    #[test]
    fn toml_overrides_defaults_and_rejects_unknown_keys() {
        let dir = std::env::temp_dir().join(format!("safecross-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let good = dir.join("good.toml");
        std::fs::write(
            &good,
            "[decode]\nconf_threshold = 0.4\n[model.class_meanings]\nleft = \"other\"\nwalker = \"ped_walk\"\n",
        )
        .unwrap();
        let config = Config::load(&good).unwrap();
        assert_eq!(config.decode.conf_threshold, 0.4);
        assert_eq!(config.decode.nms_iou, DecodeConfig::default().nms_iou);
        assert_eq!(config.model.class_meanings["walker"], SignalMeaning::PedWalk);
        let bad = dir.join("bad.toml");
        std::fs::write(&bad, "[decode]\nconf_treshold = 0.4\n").unwrap();
        let err = Config::load(&bad).unwrap_err().to_string();
        assert!(err.contains("conf_treshold"), "{err}");
        std::fs::write(&bad, "[decode]\nconf_threshold = 1.5\n").unwrap();
        assert!(Config::load(&bad).unwrap_err().to_string().contains("conf_threshold"));
        std::fs::write(&good, "[source]\nfreeze_after_s = 1.5\nfreeze_max_mean_diff = 0.0\n").unwrap();
        let config = Config::load(&good).unwrap();
        assert_eq!((config.source.freeze_after_s, config.source.freeze_max_mean_diff), (1.5, 0.0));
        for (text, field) in [
            ("[source]\nfreeze_after_s = 0.0\n", "source.freeze_after_s"),
            ("[source]\nfreeze_after_s = nan\n", "source.freeze_after_s"),
            ("[source]\nfreeze_max_mean_diff = -1.0\n", "source.freeze_max_mean_diff"),
            ("[source]\ncamera_fps = 0\n", "source.camera_fps"),
            ("[source]\ncamera_resolution = [0, 0]\n", "source.camera_resolution"),
            ("[source]\nimage_fps = 0.0\n", "source.image_fps"),
            ("[decode]\nmax_detections = 0\n", "max_detections"),
        ] {
            std::fs::write(&bad, text).unwrap();
            let err = Config::load(&bad).unwrap_err().to_string();
            assert!(err.contains(field), "{text:?}: {err}");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}

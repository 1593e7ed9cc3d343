//! Ground-truth timelines: what the signal the user must obey showed, over time.
//!
//! A timeline is stored as `<clip>.json` next to `<clip>.mp4`. The scene generator
//! writes it, `safecross eval` reads it, and a person can write one by hand for a
//! recorded clip (see the README). Imports: `geom`.

use crate::geom::BBox;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Current version of the timeline format.
pub const TIMELINE_FORMAT_VERSION: u32 = 1;

/// The true state of the relevant signal during a segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TruthSignal {
    /// Steady walk.
    Walk,
    /// Don't walk.
    DontWalk,
    /// Flashing walk or countdown: do not start crossing.
    Changing,
    /// No relevant signal visible.
    None,
}

impl TruthSignal {
    /// Every signal, in the order the format documents them.
    pub const ALL: [TruthSignal; 4] =
        [TruthSignal::Walk, TruthSignal::DontWalk, TruthSignal::Changing, TruthSignal::None];

    /// The name used in timeline files (`walk`, `dont_walk`, `changing`, `none`).
    pub fn name(self) -> &'static str {
        match self {
            TruthSignal::Walk => "walk",
            TruthSignal::DontWalk => "dont_walk",
            TruthSignal::Changing => "changing",
            TruthSignal::None => "none",
        }
    }
}

/// Where the clip came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClipSource {
    /// Made by `safecross synth`.
    Synthetic {
        /// Generator version (the crate version that made it).
        generator_version: String,
        /// Seed that reproduces the clip byte for byte.
        seed: u64,
        /// Scene preset name.
        #[serde(default)]
        preset: String,
    },
    /// Filmed and annotated by hand.
    Recorded {
        /// Free text: who, where, which camera.
        #[serde(default)]
        description: String,
    },
}

/// One stretch of time with a constant true signal. `start_s` is inclusive, `end_s` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segment {
    /// Start, seconds from the first frame.
    pub start_s: f64,
    /// End, seconds from the first frame.
    pub end_s: f64,
    /// What the signal showed.
    pub signal: TruthSignal,
}

/// A visible signal head in one frame (optional per-frame annotation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TruthBox {
    /// Class name in the shipped model's vocabulary (`red`, `ped_walk`, ...).
    pub class: String,
    /// Box in frame px, `[x1, y1, x2, y2]`.
    #[serde(rename = "box")]
    pub bbox: [f32; 4],
    /// Whether this is the signal the user must obey.
    #[serde(default)]
    pub relevant: bool,
    /// Whether this is a vehicle light for the traffic beside the user's crossing (the
    /// light a pedestrian follows where no pedestrian signal stands). Optional: clips
    /// that do not mark it are judged by their pedestrian signal alone.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parallel: bool,
}

/// All visible signal heads in one frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameBoxes {
    /// Frame index.
    pub frame: u64,
    /// Boxes in that frame.
    pub boxes: Vec<TruthBox>,
}

/// A clip's ground truth.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Timeline {
    /// Format version, [`TIMELINE_FORMAT_VERSION`].
    pub version: u32,
    /// Frame rate of the clip, frames per second.
    pub fps: f64,
    /// Length of the clip, seconds.
    pub duration_s: f64,
    /// Where the clip came from.
    pub source: ClipSource,
    /// Consecutive, non-overlapping segments covering `[0, duration_s)`.
    pub segments: Vec<Segment>,
    /// Optional per-frame boxes of every visible signal.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boxes: Vec<FrameBoxes>,
}

/// Why a timeline was rejected. Each message names the field at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TimelineError {
    /// The file could not be read.
    #[error("cannot read timeline {path}")]
    Io {
        /// File path.
        path: String,
        /// Underlying error.
        source: std::io::Error,
    },
    /// The JSON does not parse or has the wrong shape.
    #[error("timeline {path}: {message}")]
    Parse {
        /// File path.
        path: String,
        /// serde_json's message with line and column.
        message: String,
    },
    /// A field has an invalid value.
    #[error("timeline {path}: field `{field}`: {message}")]
    Invalid {
        /// File path.
        path: String,
        /// JSON path of the bad field, e.g. `segments[2].end_s`.
        field: String,
        /// What is wrong.
        message: String,
    },
}

impl Timeline {
    /// Reads and validates a timeline file.
    ///
    /// # Errors
    /// [`TimelineError`] naming the file and the bad field.
    pub fn load(path: &Path) -> Result<Self, TimelineError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| TimelineError::Io { path: shown.clone(), source })?;
        Self::from_json(&text, &shown)
    }

    /// Parses and validates the text of a timeline file. `path` is only used in messages.
    ///
    /// # Errors
    /// [`TimelineError::Parse`] for JSON of the wrong shape, [`TimelineError::Invalid`]
    /// naming the bad field (including `segments[i].signal` for an unknown signal name).
    pub fn from_json(text: &str, path: &str) -> Result<Self, TimelineError> {
        let timeline: Timeline = serde_json::from_str(text).map_err(|e| {
            // serde's message for a misspelt signal gives only a line and column, which
            // in a one-line file does not tell the annotator which segment is wrong.
            unknown_signal(text, path)
                .unwrap_or_else(|| TimelineError::Parse { path: path.to_string(), message: e.to_string() })
        })?;
        timeline.validate(path)?;
        Ok(timeline)
    }

    /// Checks times, order and coverage. `path` is only used in messages.
    ///
    /// # Errors
    /// [`TimelineError::Invalid`] naming the first bad field.
    pub fn validate(&self, path: &str) -> Result<(), TimelineError> {
        let bad = |field: String, message: String| TimelineError::Invalid { path: path.to_string(), field, message };
        if self.version != TIMELINE_FORMAT_VERSION {
            return Err(bad(
                "version".into(),
                format!("is {}; this safecross reads version {TIMELINE_FORMAT_VERSION}", self.version),
            ));
        }
        if !(self.fps.is_finite() && self.fps > 0.0) {
            return Err(bad("fps".into(), format!("must be a positive number, got {}", self.fps)));
        }
        if !(self.duration_s.is_finite() && self.duration_s > 0.0) {
            return Err(bad("duration_s".into(), format!("must be a positive number, got {}", self.duration_s)));
        }
        if self.segments.is_empty() {
            return Err(bad("segments".into(), "is empty; the timeline must cover the whole clip".into()));
        }
        let tolerance = 0.5 / self.fps;
        let mut expected_start = 0.0;
        for (i, seg) in self.segments.iter().enumerate() {
            if !(seg.start_s.is_finite()) || seg.start_s < 0.0 {
                return Err(bad(
                    format!("segments[{i}].start_s"),
                    format!("must not be negative, got {}", seg.start_s),
                ));
            }
            if !(seg.end_s.is_finite()) || seg.end_s <= seg.start_s {
                return Err(bad(
                    format!("segments[{i}].end_s"),
                    format!("must be after start_s ({}), got {}", seg.start_s, seg.end_s),
                ));
            }
            if seg.start_s < expected_start - tolerance {
                return Err(bad(
                    format!("segments[{i}].start_s"),
                    format!("overlaps the previous segment, which ends at {expected_start}"),
                ));
            }
            if seg.start_s > expected_start + tolerance {
                return Err(bad(
                    format!("segments[{i}].start_s"),
                    format!("leaves a gap after {expected_start}; the timeline must cover the clip without gaps"),
                ));
            }
            if seg.end_s > self.duration_s + tolerance {
                return Err(bad(
                    format!("segments[{i}].end_s"),
                    format!("{} is past the end of the clip ({} s)", seg.end_s, self.duration_s),
                ));
            }
            expected_start = seg.end_s;
        }
        if expected_start < self.duration_s - tolerance {
            return Err(bad(
                format!("segments[{}].end_s", self.segments.len() - 1),
                format!("the timeline ends at {expected_start} s but the clip lasts {} s", self.duration_s),
            ));
        }
        Ok(())
    }

    /// Checks that the timeline covers a clip of `clip_duration_s` seconds (as decoded)
    /// at `clip_fps` frames per second (0: unknown, not checked).
    ///
    /// # Errors
    /// [`TimelineError::Invalid`] on field `fps` when the rates differ by more than 1 %
    /// (per-frame boxes would land on the wrong frames), on `duration_s` when the lengths
    /// differ by more than a frame.
    pub fn check_covers(&self, path: &str, clip_duration_s: f64, clip_fps: f64) -> Result<(), TimelineError> {
        if clip_fps > 0.0 && ((self.fps - clip_fps) / clip_fps).abs() > 0.01 {
            return Err(TimelineError::Invalid {
                path: path.to_string(),
                field: "fps".into(),
                message: format!("the timeline is at {} fps but the clip at {clip_fps:.3} fps", self.fps),
            });
        }
        if (self.duration_s - clip_duration_s).abs() > 1.5 / self.fps {
            return Err(TimelineError::Invalid {
                path: path.to_string(),
                field: "duration_s".into(),
                message: format!("the timeline covers {} s but the clip lasts {clip_duration_s:.3} s", self.duration_s),
            });
        }
        Ok(())
    }

    /// The true signal at time `t_s`; `None` past the end.
    pub fn signal_at(&self, t_s: f64) -> Option<TruthSignal> {
        self.segments.iter().find(|s| t_s >= s.start_s && t_s < s.end_s).map(|s| s.signal)
    }
}

/// The first segment whose `signal` is not one of [`TruthSignal::ALL`], as an error
/// naming it; `None` when every segment's signal is known (or there are no segments).
fn unknown_signal(text: &str, path: &str) -> Option<TimelineError> {
    let value: serde_json::Value = serde_json::from_str(text).ok()?;
    let segments = value.get("segments")?.as_array()?;
    segments.iter().enumerate().find_map(|(i, segment)| {
        let signal = segment.get("signal")?;
        if signal.as_str().is_some_and(|name| TruthSignal::ALL.iter().any(|s| s.name() == name)) {
            return None;
        }
        let names: Vec<&str> = TruthSignal::ALL.iter().map(|s| s.name()).collect();
        let (last, rest) = names.split_last()?;
        Some(TimelineError::Invalid {
            path: path.to_string(),
            field: format!("segments[{i}].signal"),
            message: format!("unknown signal {signal} (expected {} or {last})", rest.join(", ")),
        })
    })
}

impl Timeline {
    /// The timeline as JSON with one segment and one frame of boxes per line: easy to
    /// read, diff and edit by hand, and byte-identical for equal timelines.
    pub fn to_json_lines(&self) -> String {
        let compact = |v: &dyn erased::Json| v.json();
        let mut out = String::from("{\n");
        out.push_str(&format!("  \"version\": {},\n", self.version));
        out.push_str(&format!("  \"fps\": {},\n", compact(&self.fps)));
        out.push_str(&format!("  \"duration_s\": {},\n", compact(&self.duration_s)));
        out.push_str(&format!("  \"source\": {},\n", compact(&self.source)));
        out.push_str("  \"segments\": [\n");
        for (i, seg) in self.segments.iter().enumerate() {
            let sep = if i + 1 < self.segments.len() { "," } else { "" };
            out.push_str(&format!("    {}{sep}\n", compact(seg)));
        }
        out.push_str("  ]");
        if !self.boxes.is_empty() {
            out.push_str(",\n  \"boxes\": [\n");
            for (i, fb) in self.boxes.iter().enumerate() {
                let sep = if i + 1 < self.boxes.len() { "," } else { "" };
                out.push_str(&format!("    {}{sep}\n", compact(fb)));
            }
            out.push_str("  ]");
        }
        out.push_str("\n}\n");
        out
    }
}

mod erased {
    /// Compact JSON of any serialisable value; serialising these plain types cannot fail.
    pub trait Json {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Json for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_else(|e| format!("\"<{e}>\""))
        }
    }
}

/// Box in frame px from a [`TruthBox`].
impl TruthBox {
    /// The box as a [`BBox`] in frame px.
    pub fn bbox(&self) -> BBox {
        BBox::new(self.bbox[0], self.bbox[1], self.bbox[2], self.bbox[3])
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn timeline(segments: &str) -> Result<Timeline, String> {
        let text =
            format!(r#"{{"version":1,"fps":10,"duration_s":10,"source":{{"kind":"recorded"}},"segments":{segments}}}"#);
        Timeline::from_json(&text, "t.json").map_err(|e| e.to_string())
    }

    #[test]
    fn accepts_a_covering_timeline() {
        let t = timeline(r#"[{"start_s":0,"end_s":4,"signal":"dont_walk"},{"start_s":4,"end_s":10,"signal":"walk"}]"#)
            .unwrap();
        assert_eq!(t.signal_at(3.9), Some(TruthSignal::DontWalk));
        assert_eq!(t.signal_at(4.0), Some(TruthSignal::Walk));
        assert_eq!(t.signal_at(10.0), None);
    }

    #[test]
    fn json_lines_round_trip() {
        let mut t =
            timeline(r#"[{"start_s":0,"end_s":4,"signal":"dont_walk"},{"start_s":4,"end_s":10,"signal":"walk"}]"#)
                .unwrap();
        t.boxes.push(FrameBoxes {
            frame: 0,
            boxes: vec![TruthBox {
                class: "ped_stop".into(),
                bbox: [1.0, 2.0, 3.5, 8.0],
                relevant: true,
                parallel: false,
            }],
        });
        let text = t.to_json_lines();
        assert_eq!(text.lines().count(), 13, "{text}");
        let back: Timeline = serde_json::from_str(&text).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn rejects_bad_timelines_naming_the_field() {
        let cases = [
            (
                r#"[{"start_s":0,"end_s":6,"signal":"dont_walk"},{"start_s":4,"end_s":10,"signal":"walk"}]"#,
                "field `segments[1].start_s`: overlaps",
            ),
            (
                r#"[{"start_s":0,"end_s":10,"signal":"green_man"}]"#,
                r#"field `segments[0].signal`: unknown signal "green_man" (expected walk, dont_walk, changing or none)"#,
            ),
            (
                r#"[{"start_s":0,"end_s":4,"signal":"walk"},{"start_s":4,"end_s":10,"signal":7}]"#,
                "field `segments[1].signal`: unknown signal 7",
            ),
            (r#"[{"start_s":-1,"end_s":10,"signal":"walk"}]"#, "field `segments[0].start_s`: must not be negative"),
            (r#"[{"start_s":0,"end_s":12,"signal":"walk"}]"#, "field `segments[0].end_s`: 12 is past the end"),
            (r#"[{"start_s":0,"end_s":8,"signal":"walk"}]"#, "field `segments[0].end_s`: the timeline ends at 8"),
        ];
        for (segments, want) in cases {
            let err = timeline(segments).unwrap_err();
            assert!(err.starts_with("timeline t.json: "), "{segments}: error {err:?} should name the file");
            assert!(err.contains(want), "{segments}: error {err:?} should mention {want:?}");
        }
    }

    #[test]
    fn another_format_version_or_frame_rate_is_named() {
        let segments = r#"[{"start_s":0,"end_s":10,"signal":"walk"}]"#;
        let text = format!(
            r#"{{"version":99,"fps":10,"duration_s":10,"source":{{"kind":"recorded"}},"segments":{segments}}}"#
        );
        let err = Timeline::from_json(&text, "t.json").unwrap_err().to_string();
        assert!(err.contains("field `version`: is 99; this safecross reads version 1"), "{err}");
        let t = timeline(segments).unwrap();
        assert!(t.check_covers("t.json", 10.0, 10.0).is_ok());
        assert!(t.check_covers("t.json", 10.0, 0.0).is_ok(), "an unknown clip rate is not checked");
        let err = t.check_covers("t.json", 10.0, 15.0).unwrap_err().to_string();
        assert!(err.contains("field `fps`: the timeline is at 10 fps but the clip at 15.000 fps"), "{err}");
        assert!(t.check_covers("t.json", 12.0, 10.0).unwrap_err().to_string().contains("duration_s"));
    }

    #[test]
    fn signal_names_match_the_serde_names() {
        for s in TruthSignal::ALL {
            assert_eq!(serde_json::to_string(&s).unwrap(), format!("\"{}\"", s.name()));
        }
    }
}

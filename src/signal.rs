//! Signal vocabulary: what a detected light means, what the user must do, and the
//! per-frame detection that carries it between stages.
//!
//! Class names of any model (ours, or one a user trained) are mapped to a
//! [`SignalMeaning`] by [`SignalMeaning::from_class_name`], so nothing downstream ever
//! matches on strings. Imports: `geom`.

use crate::geom::BBox;
use serde::{Deserialize, Serialize};
use std::fmt;

/// What a detected lamp or signal head tells road users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalMeaning {
    /// Vehicle signal showing red.
    VehicleRed,
    /// Vehicle signal showing yellow (amber).
    VehicleYellow,
    /// Vehicle signal showing green.
    VehicleGreen,
    /// Pedestrian signal showing stop: red standing figure or orange hand.
    PedStop,
    /// Pedestrian signal showing walk: green or white walking figure.
    PedWalk,
    /// A signal head with no lamp lit (dark phase of a blink, or switched off).
    Off,
    /// Anything else: turn arrows, a light of unknown state, unrelated classes.
    Other,
}

impl SignalMeaning {
    /// All meanings, in a fixed order (used for confusion matrices).
    pub const ALL: [SignalMeaning; 7] = [
        SignalMeaning::VehicleRed,
        SignalMeaning::VehicleYellow,
        SignalMeaning::VehicleGreen,
        SignalMeaning::PedStop,
        SignalMeaning::PedWalk,
        SignalMeaning::Off,
        SignalMeaning::Other,
    ];

    /// Derives the meaning from a class name the way people name them in traffic-light
    /// datasets: `red`, `Green`, `ped_walk`, `pedestrian-red`, `dont_walk`, `hand`,
    /// `left` (a turn arrow, which pedestrians must not follow), `off`, `traffic light`.
    pub fn from_class_name(name: &str) -> Self {
        let n = name.to_ascii_lowercase().replace(['-', ' ', '.'], "_");
        let has = |w: &str| n.split('_').any(|part| part == w) || n == w;
        let contains = |w: &str| n.contains(w);
        let pedestrian = contains("ped")
            || contains("walk")
            || contains("hand")
            || contains("person")
            || contains("man")
            || contains("stand")
            || contains("figure")
            || contains("cross");
        if contains("arrow") || has("left") || has("right") || contains("turn") {
            return SignalMeaning::Other;
        }
        if has("off") || contains("unlit") || has("dark") || has("none") || has("blank") {
            return SignalMeaning::Off;
        }
        if pedestrian {
            if contains("dont")
                || contains("don_t")
                || contains("no_walk")
                || contains("stop")
                || has("red")
                || contains("hand")
                || contains("stand")
                || has("wait")
            {
                return SignalMeaning::PedStop;
            }
            if contains("walk") || has("green") || has("go") || has("white") {
                return SignalMeaning::PedWalk;
            }
            return SignalMeaning::Other;
        }
        if has("red") || has("stop") {
            SignalMeaning::VehicleRed
        } else if has("yellow") || has("amber") || has("orange") {
            SignalMeaning::VehicleYellow
        } else if has("green") || has("go") {
            SignalMeaning::VehicleGreen
        } else {
            SignalMeaning::Other
        }
    }

    /// Whether the meaning comes from a pedestrian signal.
    pub fn is_pedestrian(self) -> bool {
        matches!(self, SignalMeaning::PedStop | SignalMeaning::PedWalk)
    }

    /// Whether the meaning comes from a vehicle signal.
    pub fn is_vehicle(self) -> bool {
        matches!(self, SignalMeaning::VehicleRed | SignalMeaning::VehicleYellow | SignalMeaning::VehicleGreen)
    }

    /// The snake_case name used in JSON and config files.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalMeaning::VehicleRed => "vehicle_red",
            SignalMeaning::VehicleYellow => "vehicle_yellow",
            SignalMeaning::VehicleGreen => "vehicle_green",
            SignalMeaning::PedStop => "ped_stop",
            SignalMeaning::PedWalk => "ped_walk",
            SignalMeaning::Off => "off",
            SignalMeaning::Other => "other",
        }
    }
}

impl fmt::Display for SignalMeaning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One detected light in one frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// Index into the model's class names.
    pub class_id: u16,
    /// What the class means for the user.
    pub meaning: SignalMeaning,
    /// Confidence in `[0, 1]`.
    pub score: f32,
    /// Box in frame px.
    pub bbox: BBox,
    /// The strongest other reading of the same box, if any reached the confidence
    /// threshold (the anchor's second class, or a box of another class merged into this
    /// one by class-agnostic NMS).
    pub rival: Option<Rival>,
}

/// A second reading of a detected box: another class that the model also saw there.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rival {
    /// Index into the model's class names.
    pub class_id: u16,
    /// What that class means for the user.
    pub meaning: SignalMeaning,
    /// Its confidence in `[0, 1]`.
    pub score: f32,
}

/// What the user should do, as decided by the smoother: the four states the user hears.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SignalState {
    /// The signal shows walk, steadily.
    Walk,
    /// The signal shows don't walk (or a vehicle red/yellow when following vehicles).
    DontWalk,
    /// Flashing walk, flashing don't walk or countdown: do not start crossing.
    Changing,
    /// No relevant signal, conflicting signals, darkness or stalled input.
    #[default]
    Unknown,
}

impl SignalState {
    /// All states, in a fixed order.
    pub const ALL: [SignalState; 4] =
        [SignalState::Walk, SignalState::DontWalk, SignalState::Changing, SignalState::Unknown];

    /// The snake_case name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            SignalState::Walk => "walk",
            SignalState::DontWalk => "dont_walk",
            SignalState::Changing => "changing",
            SignalState::Unknown => "unknown",
        }
    }
}

impl fmt::Display for SignalState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which kind of signal a decision rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// A pedestrian signal.
    Pedestrian,
    /// The parallel vehicle signal (no pedestrian signal in view).
    Vehicle,
    /// Nothing usable.
    #[default]
    None,
}

impl Basis {
    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Basis::Pedestrian => "pedestrian",
            Basis::Vehicle => "vehicle",
            Basis::None => "none",
        }
    }
}

/// The class names of the model that safecross ships, in output order. The scene
/// generator labels its stills with these ids, and training writes them into the
/// ONNX metadata, so the two cannot drift apart.
pub const SHIPPED_CLASSES: [&str; 6] = ["red", "yellow", "green", "ped_stop", "ped_walk", "off"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_dataset_names_map_to_meanings() {
        let cases = [
            ("red", SignalMeaning::VehicleRed),
            ("Green", SignalMeaning::VehicleGreen),
            ("yellow", SignalMeaning::VehicleYellow),
            ("amber", SignalMeaning::VehicleYellow),
            ("left", SignalMeaning::Other),
            ("ped_stop", SignalMeaning::PedStop),
            ("ped_walk", SignalMeaning::PedWalk),
            ("pedestrian-red", SignalMeaning::PedStop),
            ("pedestrian green", SignalMeaning::PedWalk),
            ("dont_walk", SignalMeaning::PedStop),
            ("walk", SignalMeaning::PedWalk),
            ("hand", SignalMeaning::PedStop),
            ("off", SignalMeaning::Off),
            ("traffic light", SignalMeaning::Other),
            ("person", SignalMeaning::Other),
        ];
        for (name, want) in cases {
            assert_eq!(SignalMeaning::from_class_name(name), want, "class name {name:?}");
        }
    }

    #[test]
    fn shipped_classes_map_without_configuration() {
        let meanings: Vec<_> = SHIPPED_CLASSES.iter().map(|n| SignalMeaning::from_class_name(n)).collect();
        assert_eq!(
            meanings,
            [
                SignalMeaning::VehicleRed,
                SignalMeaning::VehicleYellow,
                SignalMeaning::VehicleGreen,
                SignalMeaning::PedStop,
                SignalMeaning::PedWalk,
                SignalMeaning::Off
            ]
        );
    }
}

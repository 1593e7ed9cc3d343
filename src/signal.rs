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
    /// A zebra crossing: not a signal. Detected for crossing guidance, never followed.
    Crosswalk,
    /// Anything else: turn arrows, a light of unknown state, unrelated classes.
    Other,
}

/// Every word a traffic-light class name may be made of (see
/// [`SignalMeaning::from_class_name`]); a name with any other word means `Other`.
const VOCABULARY: &[&str] = &[
    // lamps and colours
    "traffic",
    "light",
    "lights",
    "signal",
    "signals",
    "lamp",
    "tl",
    "on",
    "red",
    "yellow",
    "amber",
    "green",
    "white",
    "redlight",
    "greenlight",
    "yellowlight",
    "stop",
    "go",
    "warning",
    "wait",
    // pedestrian figures
    "ped",
    "pedestrian",
    "pedestrians",
    "walk",
    "walking",
    "man",
    "figure",
    "hand",
    "dont",
    "don",
    "t",
    "no",
    "standing",
    "countdown",
    // dark heads, turn arrows, crossings
    "off",
    "unlit",
    "dark",
    "blank",
    "arrow",
    "left",
    "right",
    "straight",
    "forward",
    "turn",
    "u",
    "crosswalk",
    "zebra",
    "crossing",
];

/// A class name's lower-case words: split at non-alphanumerics and at camelCase humps
/// (`goLeft` -> `go`, `left`; `DontWalk` -> `dont`, `walk`).
fn class_words(name: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if !c.is_alphanumeric() {
            if !word.is_empty() {
                words.push(std::mem::take(&mut word));
            }
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower && !word.is_empty() {
            words.push(std::mem::take(&mut word));
        }
        prev_lower = c.is_lowercase() || c.is_numeric();
        word.extend(c.to_lowercase());
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

impl SignalMeaning {
    /// All meanings, in a fixed order (used for confusion matrices).
    pub const ALL: [SignalMeaning; 8] = [
        SignalMeaning::VehicleRed,
        SignalMeaning::VehicleYellow,
        SignalMeaning::VehicleGreen,
        SignalMeaning::PedStop,
        SignalMeaning::PedWalk,
        SignalMeaning::Off,
        SignalMeaning::Crosswalk,
        SignalMeaning::Other,
    ];

    /// Derives the meaning from a class name, conservatively: the name is cut into whole
    /// words (at `_`, `-`, `.`, spaces, apostrophes and camelCase humps), and every word
    /// must come from the vocabulary of traffic-light datasets (LISA, Bosch, DriveU,
    /// PTL/LYTNet, the Roboflow pedestrian sets, COCO `traffic light`). A name with any
    /// other word is [`SignalMeaning::Other`]: `handbag` is not a hand, `stop sign` is not
    /// a red lamp, `orange` is a fruit. Only a name that plainly says a pedestrian figure
    /// (`walk`, `ped_green`, `green man`) maps to walk; turn arrows are `Other`, zebra
    /// crossings [`SignalMeaning::Crosswalk`]. Wrong names fail towards `Other`, which
    /// never drives a decision.
    ///
    /// A name's meaning can depend on its dataset (`greenlight` is a pedestrian walk
    /// lamp in the chanyoung crossing set): [`SignalMeaning::for_class_names`] maps a whole list.
    pub fn from_class_name(name: &str) -> Self {
        let words = class_words(name);
        if words.is_empty() || !words.iter().all(|w| VOCABULARY.contains(&w.as_str())) {
            return SignalMeaning::Other;
        }
        let has = |list: &[&str]| words.iter().any(|w| list.contains(&w.as_str()));
        if has(&["crosswalk", "zebra", "crossing"]) && !has(&["red", "green", "walk", "stop", "dont", "light"]) {
            return SignalMeaning::Crosswalk;
        }
        if has(&["arrow", "left", "right", "straight", "forward", "turn", "u"]) {
            return SignalMeaning::Other;
        }
        if has(&["off", "unlit", "dark", "blank"]) {
            return SignalMeaning::Off;
        }
        let pedestrian =
            has(&["ped", "pedestrian", "walk", "walking", "man", "figure", "hand", "dont", "wait", "standing"]);
        if pedestrian {
            if has(&["dont", "don", "no", "stop", "red", "hand", "standing", "wait"]) {
                return SignalMeaning::PedStop;
            }
            if has(&["walk", "walking", "green", "go", "white"]) {
                return SignalMeaning::PedWalk;
            }
            return SignalMeaning::Other;
        }
        if has(&["red", "redlight", "stop"]) {
            SignalMeaning::VehicleRed
        } else if has(&["yellow", "amber", "yellowlight", "warning"]) {
            SignalMeaning::VehicleYellow
        } else if has(&["green", "greenlight", "go"]) {
            SignalMeaning::VehicleGreen
        } else {
            SignalMeaning::Other
        }
    }

    /// Whether a class name says a signal head without saying its state (COCO's
    /// `traffic light`, `traffic_signal`, `pedestrian light`). Such a class never drives
    /// a decision (its meaning is [`SignalMeaning::Other`]), but a head seen by it is a
    /// head in view: the user hears `Signal seen, state unknown`, not `No signal found`.
    pub fn names_a_stateless_signal(name: &str) -> bool {
        const NAMES: [&str; 10] = [
            "trafficlight",
            "trafficlights",
            "trafficsignal",
            "trafficsignals",
            "signal",
            "pedestrianlight",
            "pedestriansignal",
            "pedlight",
            "pedsignal",
            "pedestriantrafficlight",
        ];
        NAMES.contains(&class_words(name).concat().as_str())
    }

    /// Meanings of a model's or dataset's whole class list. Each name is mapped by
    /// [`SignalMeaning::from_class_name`], except in a known vocabulary that names its
    /// lamps without saying they are pedestrian ones: the Roboflow crossing sets
    /// (`crosswalk`, `greenlight`, `redlight`, nothing else), where the lamps are the
    /// pedestrian walk and stop figures.
    pub fn for_class_names<S: AsRef<str>>(names: &[S]) -> Vec<Self> {
        let joined: Vec<String> = names.iter().map(|n| class_words(n.as_ref()).concat()).collect();
        let mut sorted = joined.clone();
        sorted.sort();
        let crossing_set = sorted == ["crosswalk", "greenlight", "redlight"];
        names
            .iter()
            .zip(&joined)
            .map(|(n, words)| match (crossing_set, words.as_str()) {
                (true, "greenlight") => SignalMeaning::PedWalk,
                (true, "redlight") => SignalMeaning::PedStop,
                _ => SignalMeaning::from_class_name(n.as_ref()),
            })
            .collect()
    }

    /// Whether the meaning is a signal at all (a lamp, lit or dark). Crosswalks and
    /// other classes are not, and the decide stage never follows them.
    pub fn is_signal(self) -> bool {
        !matches!(self, SignalMeaning::Other | SignalMeaning::Crosswalk)
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
            SignalMeaning::Crosswalk => "crosswalk",
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

/// A name that is not one of a closed set's (a state, a basis, a preset, ...).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} {value:?}; expected one of {expected}")]
pub struct UnknownName {
    /// What was being named.
    pub what: &'static str,
    /// The text given.
    pub value: String,
    /// The names it may be, comma-separated.
    pub expected: String,
}

/// `text` as the one of `all` that `name` calls so: how every library enum with a
/// command-line name is parsed (through its `FromStr`), so that each lists its names
/// once and says them all when given another.
///
/// # Errors
/// [`UnknownName`] listing the names of `all`.
pub fn parse_named<T: Copy>(
    what: &'static str,
    text: &str,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Result<T, UnknownName> {
    all.iter().copied().find(|&x| name(x) == text).ok_or_else(|| UnknownName {
        what,
        value: text.to_string(),
        expected: all.iter().map(|&x| name(x)).collect::<Vec<_>>().join(", "),
    })
}

impl std::str::FromStr for SignalState {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        parse_named("state", s, &SignalState::ALL, SignalState::as_str)
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

impl std::str::FromStr for Basis {
    type Err = UnknownName;
    /// `pedestrian` or `vehicle` (a cue always rests on one of them).
    fn from_str(s: &str) -> Result<Self, UnknownName> {
        parse_named("basis", s, &[Basis::Pedestrian, Basis::Vehicle], Basis::as_str)
    }
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
pub const SHIPPED_CLASSES: [&str; 7] = ["red", "yellow", "green", "ped_stop", "ped_walk", "off", "crosswalk"];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stateless_signal_names_are_whole_names_only() {
        for name in ["traffic light", "Traffic_Light", "trafficlight", "traffic-signal", "pedestrian light", "signal"] {
            assert!(SignalMeaning::names_a_stateless_signal(name), "{name}");
        }
        for name in ["stop sign", "light", "flashlight", "handbag", "red", "traffic cone", "signal_red", "person"] {
            assert!(!SignalMeaning::names_a_stateless_signal(name), "{name}");
        }
    }

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
            ("Don't Walk", SignalMeaning::PedStop),
            ("DontWalk", SignalMeaning::PedStop),
            ("walking_man", SignalMeaning::PedWalk),
            ("green man", SignalMeaning::PedWalk),
            ("red man", SignalMeaning::PedStop),
            ("crosswalk", SignalMeaning::Crosswalk),
            ("zebra", SignalMeaning::Crosswalk),
            ("zebra_crossing", SignalMeaning::Crosswalk),
            ("greenlight", SignalMeaning::VehicleGreen),
            ("redlight", SignalMeaning::VehicleRed),
            ("Red", SignalMeaning::VehicleRed),
            ("RedLeft", SignalMeaning::Other),
            ("GreenStraightRight", SignalMeaning::Other),
            ("goLeft", SignalMeaning::Other),
            ("stop", SignalMeaning::VehicleRed),
            ("warning", SignalMeaning::VehicleYellow),
            ("go", SignalMeaning::VehicleGreen),
        ];
        for (name, want) in cases {
            assert_eq!(SignalMeaning::from_class_name(name), want, "class name {name:?}");
        }
    }

    /// Names that a substring match once took for signals: each must fail towards `Other`
    /// (or, for a zebra crossing, `Crosswalk`), never towards walk.
    #[test]
    fn unrelated_names_never_become_signals() {
        for name in [
            "handbag",
            "stop sign",
            "orange",
            "sports ball",
            "walkway",
            "manhole",
            "handrail",
            "person",
            "traffic sign",
        ] {
            assert_eq!(SignalMeaning::from_class_name(name), SignalMeaning::Other, "class name {name:?}");
        }
        assert!(!SignalMeaning::from_class_name("crosswalk").is_signal());
    }

    #[test]
    fn coco_maps_no_class_to_a_signal_state() {
        let coco = "person,bicycle,car,motorcycle,airplane,bus,train,truck,boat,traffic light,fire hydrant,stop sign,\
            parking meter,bench,bird,cat,dog,horse,sheep,cow,elephant,bear,zebra,giraffe,backpack,umbrella,handbag,tie,\
            suitcase,frisbee,skis,snowboard,sports ball,kite,baseball bat,baseball glove,skateboard,surfboard,tennis racket,\
            bottle,wine glass,cup,fork,knife,spoon,bowl,banana,apple,sandwich,orange,broccoli,carrot,hot dog,pizza,donut,\
            cake,chair,couch,potted plant,bed,dining table,toilet,tv,laptop,mouse,remote,keyboard,cell phone,microwave,\
            oven,toaster,sink,refrigerator,book,clock,vase,scissors,teddy bear,hair drier,toothbrush";
        let names: Vec<&str> = coco.split(',').map(str::trim).collect();
        assert_eq!(names.len(), 80);
        for (name, meaning) in names.iter().zip(SignalMeaning::for_class_names(&names)) {
            // COCO's zebra is the animal; taking it for a crossing is harmless, never a signal.
            assert!(!meaning.is_signal(), "COCO class {name:?} mapped to {meaning}");
        }
    }

    #[test]
    fn dataset_vocabularies_map_their_lamps() {
        use SignalMeaning::*;
        let table: [(&[&str], &[SignalMeaning]); 5] = [
            // chanyoung pedestrian-light-crosswalk, original names: the lamps are pedestrian ones.
            (&["crosswalk", "greenlight", "redlight"], &[Crosswalk, PedWalk, PedStop]),
            // the same set as renamed in ../shared
            (&["crosswalk", "ped_walk", "ped_stop"], &[Crosswalk, PedWalk, PedStop]),
            // LISA
            (
                &["go", "goForward", "goLeft", "stop", "stopLeft", "warning", "warningLeft"],
                &[VehicleGreen, Other, Other, VehicleRed, Other, VehicleYellow, Other],
            ),
            // Bosch small traffic lights
            (
                &["Green", "GreenLeft", "Red", "RedLeft", "Yellow", "off"],
                &[VehicleGreen, Other, VehicleRed, Other, VehicleYellow, Off],
            ),
            // cinta, kr
            (&["green", "left", "red", "yellow"], &[VehicleGreen, Other, VehicleRed, VehicleYellow]),
        ];
        for (names, want) in table {
            assert_eq!(SignalMeaning::for_class_names(names), want, "class list {names:?}");
        }
        // Outside the crossing vocabulary, `greenlight` is a vehicle lamp.
        assert_eq!(
            SignalMeaning::for_class_names(&["greenlight", "redlight", "yellowlight"]),
            [VehicleGreen, VehicleRed, VehicleYellow]
        );
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
                SignalMeaning::Off,
                SignalMeaning::Crosswalk
            ]
        );
    }
}

//! When a change is spoken and when it is only a tone change.
//!
//! The tone says the state all the time and follows every decision at once. A spoken
//! message costs the user attention, and on a busy street it covers the traffic a blind
//! pedestrian listens to, so speech is kept for changes that matter or that hold:
//!
//! - **Walk is spoken at once**, on the way in (`Walk sign is on`, or `Vehicle light is
//!   green` on the vehicle basis) and on the way out (whatever comes next: wait,
//!   changing, no signal). Leaving walk is never delayed or skipped.
//! - **Every other change is spoken only once it holds**: a change into unknown after
//!   [`UNKNOWN_SETTLE_S`], into changing after [`CHANGING_SETTLE_S`] (one blink is
//!   held for less), any other after [`SETTLE_S`]. A change that comes back
//!   before then (a lamp missed for a second, a far vehicle lamp seen in some frames and
//!   not in others) is heard as a tone change and not spoken.
//! - **Nothing is said twice in a row**: a settled state whose message is the one last
//!   spoken (wait, a blink of unknown, wait again) is not repeated.
//! - **At most one such message per [`CALM_GAP_S`]**: a message that settles sooner is
//!   held back and spoken when the gap has passed, if the state still differs from what
//!   was last said. A back-and-forth between two states is so heard at most four times a
//!   minute, whatever the detector does.
//! - While the state is unknown but a head is in view (being confirmed, or read two
//!   ways), the message is `Signal seen, checking` rather than `No signal found`; at
//!   the very start with nothing in view it is `Looking for the signal`. The first
//!   message, and the first state decided after it, are spoken at once.
//!
//! The policy is pure (times in, messages out): the player runs it for the speaker and
//! the WAV file, and `safecross eval` runs the same code to count what would be spoken.

use super::render::CueStart;
use super::speech::Message;
use crate::signal::{Basis, SignalState};

/// A change into unknown is spoken only after it has lasted this long, s.
pub const UNKNOWN_SETTLE_S: f64 = 2.0;
/// Any other change that does not involve walk is spoken after it has lasted this long, s.
pub const SETTLE_S: f64 = 1.0;
/// A change into changing from wait or unknown (from walk it is spoken at once) is
/// spoken after it has lasted this long, s: longer than the smoother's `flash_hold_s`
/// (1.2 s), so that one lit-dark-lit read on a head that is not flashing (a steady stop
/// figure missed for a few frames) is a tone change only, and a head that goes on
/// flashing is spoken. Either way the user is told not to start. On held-out clips
/// three of the five "Signal changing" messages spoken on stretches of steady truth
/// came from such a single blink, during don't walk or no signal.
pub const CHANGING_SETTLE_S: f64 = 2.0;
/// At least this long between two messages that do not involve walk, s (at most four a
/// minute).
pub const CALM_GAP_S: f64 = 15.0;
/// A head seen this recently counts as in view for the choice of the unknown message, s
/// (the detector misses a far head in some frames).
const SEEN_MEMORY_S: f64 = 1.0;

/// What the user was last told in words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Said {
    message: Message,
    vehicle: bool,
}

/// Decides, decision by decision, what starts to be heard. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct SpeechPolicy {
    /// The state and basis the tone shows, and since when.
    heard: Option<(SignalState, Basis, f64)>,
    /// The message the current state would be spoken with, and since when it has been so.
    candidate: Option<(Message, f64)>,
    said: Option<Said>,
    /// When the last message that did not involve walk was spoken.
    last_calm_s: Option<f64>,
    /// Until when a head counts as in view.
    seen_until_s: f64,
    /// A state other than unknown has been heard.
    decided: bool,
    /// The model cannot tell signal states: a head in view is `Signal seen, state
    /// unknown`, not `Signal seen, checking`.
    stateless_model: bool,
}

impl SpeechPolicy {
    /// A policy that has heard nothing yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A policy for a model none of whose classes says a signal state (a COCO
    /// detector's `traffic light`): it can see a head but never decide, so while one
    /// is in view the user hears `Signal seen, state unknown`, not a promise of a
    /// decision (`checking`) nor a denial of what a sighted helper sees (`no signal`).
    pub fn for_stateless_model() -> Self {
        Self { stateless_model: true, ..Self::default() }
    }

    /// Takes the decision at media time `t_s` (`seen`: a head was detected in this frame,
    /// whatever it showed). Returns what starts to be heard, or None when the tone goes
    /// on as it is and nothing is said.
    pub fn update(&mut self, t_s: f64, state: SignalState, basis: Basis, seen: bool) -> Option<CueStart> {
        if seen {
            self.seen_until_s = t_s + SEEN_MEMORY_S;
        }
        let previous = self.heard.map(|(s, b, _)| (s, b));
        let state_changed = previous.is_none_or(|(s, _)| s != state);
        if previous != Some((state, basis)) {
            self.heard = Some((state, basis, t_s));
        }
        let in_view = t_s < self.seen_until_s;
        let message = message_for(state, basis, in_view, previous.is_none(), self.stateless_model);
        if self.candidate.is_none_or(|(m, _)| m != message) {
            self.candidate = Some((message, t_s));
        }
        let vehicle = basis == Basis::Vehicle && state != SignalState::Unknown;

        // The start, the first decided state after it, and every edge of walk.
        let first_decision = state != SignalState::Unknown && !self.decided;
        self.decided |= state != SignalState::Unknown;
        let urgent = match previous {
            None => true,
            Some((was, _)) => {
                first_decision || state_changed && (was == SignalState::Walk || state == SignalState::Walk)
            }
        };
        let speak = if urgent {
            true
        } else {
            let now = Said { message, vehicle };
            // The state must have held for its settle time, and its message (which can
            // turn from "checking" to "no signal" as the head leaves view) for 1 s.
            let settle = match state {
                SignalState::Unknown => UNKNOWN_SETTLE_S,
                SignalState::Changing => CHANGING_SETTLE_S,
                _ => SETTLE_S,
            };
            let state_held = self.heard.is_some_and(|(_, _, since)| t_s - since >= settle - 1e-9);
            let message_held = self.candidate.is_some_and(|(_, since)| t_s - since >= SETTLE_S - 1e-9);
            let held = state_held && message_held;
            let gap_over = self.last_calm_s.is_none_or(|last| t_s - last >= CALM_GAP_S - 1e-9);
            self.said != Some(now) && held && gap_over
        };
        if !speak {
            return state_changed.then_some(CueStart { state, basis, restart_pattern: true, messages: [None, None] });
        }
        let newly_vehicle = vehicle && !self.said.is_some_and(|s| s.vehicle);
        let messages = if newly_vehicle && message != Message::FollowingVehicle {
            [Some(Message::FollowingVehicle), Some(message)]
        } else {
            [Some(message), None]
        };
        if !urgent {
            self.last_calm_s = Some(t_s);
        }
        self.said = Some(Said { message, vehicle });
        Some(CueStart { state, basis, restart_pattern: state_changed, messages })
    }
}

impl SpeechPolicy {
    /// The source or the model failed at `t_s` and the run is about to end: unknown is
    /// heard and said at once, whatever was said before, so the user is not left
    /// with a silent or stale cue.
    pub fn fault(&mut self, t_s: f64) -> CueStart {
        let state_changed = self.heard.is_none_or(|(s, _, _)| s != SignalState::Unknown);
        self.heard = Some((SignalState::Unknown, Basis::None, t_s));
        self.candidate = Some((Message::NoSignal, t_s));
        self.said = Some(Said { message: Message::NoSignal, vehicle: false });
        CueStart {
            state: SignalState::Unknown,
            basis: Basis::None,
            restart_pattern: state_changed,
            messages: [Some(Message::NoSignal), None],
        }
    }
}

/// The message that says `state` on `basis`; `stateless_model`: the model cannot tell
/// signal states, so a head in view will never be decided.
fn message_for(state: SignalState, basis: Basis, in_view: bool, first: bool, stateless_model: bool) -> Message {
    match (state, basis) {
        (SignalState::Walk, Basis::Vehicle) => Message::VehicleGreen,
        (SignalState::Walk, _) => Message::Walk,
        (SignalState::DontWalk, _) => Message::Wait,
        (SignalState::Changing, _) => Message::Changing,
        (SignalState::Unknown, _) if in_view && stateless_model => Message::StateUnknown,
        (SignalState::Unknown, _) if in_view => Message::Checking,
        // At the start nothing has been looked at long enough to say there is none.
        (SignalState::Unknown, _) if first => Message::Looking,
        (SignalState::Unknown, _) => Message::NoSignal,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use SignalState::{Changing, DontWalk, Unknown, Walk};
    use proptest::prelude::*;

    const PED: Basis = Basis::Pedestrian;

    /// Feeds `(t_s, state, basis, seen)` in order; returns `(t_s, messages)` of each
    /// decision that spoke.
    fn spoken(steps: &[(f64, SignalState, Basis, bool)]) -> Vec<(f64, Vec<Message>)> {
        let mut p = SpeechPolicy::new();
        steps
            .iter()
            .filter_map(|&(t, s, b, seen)| {
                let start = p.update(t, s, b, seen)?;
                let m: Vec<Message> = start.messages.iter().flatten().copied().collect();
                (!m.is_empty()).then_some((t, m))
            })
            .collect()
    }

    /// A decision every 1/15 s from `from` to `to` (exclusive).
    fn hold(from: f64, to: f64, state: SignalState, basis: Basis, seen: bool) -> Vec<(f64, SignalState, Basis, bool)> {
        let n = ((to - from) * 15.0).round() as usize;
        (0..n).map(|k| (from + k as f64 / 15.0, state, basis, seen)).collect()
    }

    #[test]
    fn the_first_message_is_spoken_at_once_and_says_whether_a_head_is_in_view() {
        assert_eq!(spoken(&hold(0.0, 0.1, Unknown, Basis::None, false)), vec![(0.0, vec![Message::Looking])]);
        assert_eq!(spoken(&hold(0.0, 0.1, Unknown, Basis::None, true)), vec![(0.0, vec![Message::Checking])]);
    }

    #[test]
    fn walk_is_spoken_at_once_on_the_way_in_and_on_the_way_out() {
        let mut steps = hold(0.0, 5.0, DontWalk, PED, true);
        steps.extend(hold(5.0, 5.2, Walk, PED, true));
        steps.extend(hold(5.2, 5.4, Changing, PED, true));
        let said = spoken(&steps);
        assert_eq!(said[1], (5.0, vec![Message::Walk]));
        assert_eq!(said[2], (5.2, vec![Message::Changing]));
        // Leaving walk into unknown is spoken at once too, even within the calm gap: with
        // the head just seen as "checking", after a stall (no frame for 1.2 s) as "no signal".
        let mut steps = hold(0.0, 1.0, Walk, PED, true);
        steps.extend(hold(1.0, 1.5, Unknown, Basis::None, false));
        assert_eq!(spoken(&steps)[1], (1.0, vec![Message::Checking]));
        let steps = [(0.0, Walk, PED, true), (1.2, Unknown, Basis::None, false)];
        assert_eq!(spoken(&steps)[1], (1.2, vec![Message::NoSignal]));
    }

    #[test]
    fn the_first_decided_state_is_spoken_at_once_and_later_ones_once_they_hold() {
        let mut steps = hold(0.0, 0.5, Unknown, Basis::None, true);
        steps.extend(hold(0.5, 20.0, DontWalk, PED, true));
        steps.extend(hold(20.0, 40.0, Unknown, Basis::None, false));
        steps.extend(hold(40.0, 60.0, DontWalk, PED, true));
        let said = spoken(&steps);
        assert_eq!(said[0], (0.0, vec![Message::Checking]));
        assert!((said[1].0 - 0.5).abs() < 0.07 && said[1].1 == vec![Message::Wait], "{said:?}");
        assert!((said[2].0 - 22.0).abs() < 0.07 && said[2].1 == vec![Message::NoSignal], "{said:?}");
        assert!((said[3].0 - 41.0).abs() < 0.07 && said[3].1 == vec![Message::Wait], "{said:?}");
    }

    #[test]
    fn a_short_blink_of_unknown_is_a_tone_change_only() {
        let mut steps = hold(0.0, 3.0, DontWalk, PED, true);
        steps.extend(hold(3.0, 4.5, Unknown, Basis::None, false));
        steps.extend(hold(4.5, 10.0, DontWalk, PED, true));
        let said = spoken(&steps);
        assert_eq!(said, vec![(0.0, vec![Message::Wait])]);
        // ... but the tone did follow it.
        let mut p = SpeechPolicy::new();
        p.update(0.0, DontWalk, PED, true);
        let blink = p.update(3.0, Unknown, Basis::None, false).expect("tone changes");
        assert!(blink.restart_pattern && blink.messages == [None, None]);
    }

    #[test]
    fn unknown_that_holds_is_spoken_after_the_settle_time() {
        let mut steps = hold(0.0, 3.0, DontWalk, PED, true);
        steps.extend(hold(3.0, 8.0, Unknown, Basis::None, false));
        let said = spoken(&steps);
        assert_eq!(said.len(), 2);
        assert!((said[1].0 - (3.0 + UNKNOWN_SETTLE_S)).abs() < 0.07, "{said:?}");
        assert_eq!(said[1].1, vec![Message::NoSignal]);
    }

    #[test]
    fn unknown_with_a_head_in_view_says_checking_not_no_signal() {
        let mut steps = hold(0.0, 3.0, DontWalk, PED, true);
        steps.extend(hold(3.0, 8.0, Unknown, Basis::None, true));
        assert_eq!(spoken(&steps)[1].1, vec![Message::Checking]);
    }

    #[test]
    fn a_stateless_model_says_state_unknown_while_a_head_is_in_view() {
        // A COCO detector sees a traffic light from 2 s to 8 s, then nothing.
        let mut steps = hold(0.0, 2.0, Unknown, Basis::None, false);
        steps.extend(hold(2.0, 8.0, Unknown, Basis::None, true));
        steps.extend(hold(8.0, 30.0, Unknown, Basis::None, false));
        let mut p = SpeechPolicy::for_stateless_model();
        let said: Vec<(f64, Vec<Message>)> = steps
            .iter()
            .filter_map(|&(t, s, b, seen)| p.update(t, s, b, seen).map(|c| (t, c)))
            .filter(|(_, c)| c.messages[0].is_some())
            .map(|(t, c)| (t, c.messages.iter().flatten().copied().collect()))
            .collect();
        let messages: Vec<Message> = said.iter().flat_map(|(_, m)| m.clone()).collect();
        assert_eq!(messages, [Message::Looking, Message::StateUnknown, Message::NoSignal], "{said:?}");
        // The same steps with a model that tells states: checking.
        assert_eq!(spoken(&steps)[1].1, vec![Message::Checking]);
    }

    #[test]
    fn a_flickering_vehicle_basis_is_spoken_at_most_four_times_a_minute() {
        // A street with no pedestrian signal: a far vehicle lamp comes and goes about
        // once a second for a minute (the 22 messages in 20 s of issue 17).
        let mut steps = Vec::new();
        let mut t = 0.0;
        let mut k = 0;
        while t < 60.0 {
            let len = [0.9, 1.3, 2.1, 0.7][k % 4];
            let (s, b) = if k % 2 == 0 { (Unknown, Basis::None) } else { (DontWalk, Basis::Vehicle) };
            steps.extend(hold(t, t + len, s, b, k % 2 == 1));
            t += len;
            k += 1;
        }
        let said = spoken(&steps);
        // The start message and the first decided state, then at most four in the minute.
        assert!(said.len() <= 6, "{said:?}");
        let calm: Vec<f64> = said.iter().skip(2).map(|s| s.0).collect();
        assert!(calm.windows(2).all(|w| w[1] - w[0] >= CALM_GAP_S - 1e-6), "{said:?}");
    }

    #[test]
    fn a_real_change_between_wait_and_changing_is_spoken_once_it_holds() {
        let mut steps = hold(0.0, 20.0, Changing, PED, true);
        steps.extend(hold(20.0, 30.0, DontWalk, PED, true));
        let said = spoken(&steps);
        assert_eq!(said.len(), 2);
        assert!((said[1].0 - (20.0 + SETTLE_S)).abs() < 0.07);
        assert_eq!(said[1].1, vec![Message::Wait]);
    }

    #[test]
    fn changing_from_wait_is_spoken_only_when_the_flashing_goes_on() {
        // One blink's worth of changing (1.5 s) between two stretches of wait: tone only.
        let mut steps = hold(0.0, 5.0, DontWalk, PED, true);
        steps.extend(hold(5.0, 6.5, Changing, PED, true));
        steps.extend(hold(6.5, 30.0, DontWalk, PED, true));
        assert_eq!(spoken(&steps), vec![(0.0, vec![Message::Wait])]);
        // Flashing that goes on is spoken once it has lasted CHANGING_SETTLE_S.
        let mut steps = hold(0.0, 5.0, DontWalk, PED, true);
        steps.extend(hold(5.0, 10.0, Changing, PED, true));
        let said = spoken(&steps);
        assert_eq!(said.len(), 2, "{said:?}");
        assert!((said[1].0 - (5.0 + CHANGING_SETTLE_S)).abs() < 0.07, "{said:?}");
        assert_eq!(said[1].1, vec![Message::Changing]);
        // From walk it is spoken at once, as every way out of walk is.
        let mut steps = hold(0.0, 5.0, Walk, PED, true);
        steps.extend(hold(5.0, 5.5, Changing, PED, true));
        assert_eq!(spoken(&steps)[1], (5.0, vec![Message::Changing]));
    }

    #[test]
    fn a_change_held_back_by_the_gap_is_spoken_when_the_gap_ends() {
        let mut steps = hold(0.0, 2.0, DontWalk, PED, true); // Wait at 0 s, the first message
        steps.extend(hold(2.0, 6.0, Unknown, Basis::None, false)); // No signal at 4 s, a calm message
        steps.extend(hold(6.0, 30.0, DontWalk, PED, true)); // settles at 7 s, gap until 19 s
        let said = spoken(&steps);
        assert_eq!(said.len(), 3, "{said:?}");
        assert!((said[1].0 - 4.0).abs() < 0.07, "{said:?}");
        assert!((said[2].0 - (4.0 + CALM_GAP_S)).abs() < 0.07, "{said:?}");
        assert_eq!(said[2].1, vec![Message::Wait]);
    }

    #[test]
    fn following_a_vehicle_signal_is_said_once_before_its_state() {
        let mut steps = hold(0.0, 1.0, Unknown, Basis::None, false);
        steps.extend(hold(1.0, 5.0, DontWalk, Basis::Vehicle, true));
        steps.extend(hold(5.0, 7.0, Walk, Basis::Vehicle, true));
        let said = spoken(&steps);
        assert_eq!(said[1].1, vec![Message::FollowingVehicle, Message::Wait]);
        assert_eq!(said[2], (5.0, vec![Message::VehicleGreen]));
    }

    #[test]
    fn a_fault_is_said_at_once_even_right_after_another_message() {
        let mut p = SpeechPolicy::new();
        p.update(0.0, DontWalk, PED, true);
        let f = p.fault(0.5);
        assert!(f.restart_pattern);
        assert_eq!(f.messages, [Some(Message::NoSignal), None]);
    }

    proptest! {
        /// Whatever the decisions, every entry into and exit from walk (and the first
        /// decided state) is spoken at the decision that makes it, and the other
        /// messages are at least the calm gap apart.
        #[test]
        fn walk_changes_are_always_spoken_and_the_rest_is_rate_limited(
            steps in proptest::collection::vec((0u8..4, 0u8..3, any::<bool>(), 1u8..40), 1..80)
        ) {
            let mut p = SpeechPolicy::new();
            let mut t = 0.0;
            let mut prev: Option<SignalState> = None;
            let mut calm_times: Vec<f64> = Vec::new();
            let mut decided = false;
            for (s, b, seen, frames) in steps {
                let state = [Walk, DontWalk, Changing, Unknown][s as usize];
                let basis = [Basis::Pedestrian, Basis::Vehicle, Basis::None][b as usize];
                for f in 0..frames {
                    let start = p.update(t, state, basis, seen);
                    let walk_edge = f == 0 && prev.is_some_and(|w| w != state && (w == Walk || state == Walk));
                    let first_decision = state != Unknown && !decided;
                    decided |= state != Unknown;
                    if walk_edge || first_decision {
                        let start = start.expect("a walk edge and the first decision are heard");
                        prop_assert!(start.messages[0].is_some());
                        prop_assert!(start.restart_pattern || !walk_edge);
                    } else if let Some(st) = start
                        && st.messages[0].is_some() && prev.is_some() {
                            calm_times.push(t);
                        }
                    t += 1.0 / 15.0;
                }
                prev = Some(state);
            }
            for w in calm_times.windows(2) {
                prop_assert!(w[1] - w[0] >= CALM_GAP_S - 1e-6, "calm messages at {:?}", calm_times);
            }
        }
    }
}

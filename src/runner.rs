//! The run loop: frames in, decisions and cues out, on time rather than on frames.
//!
//! [`Runner`] owns the source, the [`Pipeline`] and the [`CuePlayer`], and hands out one
//! [`Event`] at a time for the caller to print. It exists so that every output (the
//! JSON stream, the WAV file and the speaker) hears the same thing when frames stop:
//!
//! - **A stall** (a camera or decoder that stops delivering, or a gap in a file's frame
//!   times) is not waited out. The wait for the next frame has a deadline; when it
//!   passes, the smoother is ticked, so `stall_timeout_s` after the last frame the
//!   decision is unknown, and is ticked again every [`TICK_EVERY_S`] while the stall
//!   lasts. In real time the deadline is on the wall clock. As fast as possible, media
//!   time is the file's own: a gap in the frame times is filled with ticks before the
//!   frame after it, and a reader that stops for longer than the stall timeout of wall
//!   time is ticked as well.
//! - **A fault** (the source or the model fails) is announced as unknown and played out
//!   for [`FAULT_PLAY_OUT_S`] before [`Event::Fault`] ends the run, so the last thing
//!   heard is never a stale walk.
//! - **An interrupt** (Ctrl-C, SIGTERM: the caller sets [`Runner::stop_flag`]) ends the
//!   run at the next event with [`Event::Stopped`]; [`Runner::finish`] then completes the
//!   WAV file.
//!
//! Ticks start after the first frame: before it there is no media time to keep, and
//! the decision is unknown anyway.

use crate::config::Config;
use crate::cue::{Announcement, CueError, CuePlayer};
use crate::decide::Decision;
use crate::frame::Frame;
use crate::pipeline::{FrameDecision, Pipeline, PipelineError};
use crate::signal::SignalState;
use crate::source::pacing::{Clock, Paced};
use crate::source::prefetch::Prefetch;
use crate::source::{FrameSource, Next, SourceError};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// While no frame comes, after the stall timeout, the decision is ticked this often, s.
/// Each tick is one JSON line; four a second keep the stream visibly alive without
/// flooding it.
pub const TICK_EVERY_S: f64 = 0.25;

/// How long "unknown" keeps sounding after a fault before the run ends, s: long enough
/// for the spoken "no signal" and the first unknown heartbeat.
pub const FAULT_PLAY_OUT_S: f64 = 2.0;

/// How the source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pace {
    /// In real time: a file plays at its own speed and stale frames are dropped, as a
    /// camera would drop them (see [`Paced`]). Stalls are measured on the wall clock.
    RealTime,
    /// Every frame, as fast as it can be processed (evaluation, tests). Stalls are
    /// measured in the file's own time.
    AsFastAsPossible,
}

/// Why a run failed. The run has already announced unknown when this is returned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// The source failed.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// The model or a stage around it failed.
    #[error(transparent)]
    Pipeline(#[from] PipelineError),
    /// The sound output failed.
    #[error(transparent)]
    Cue(#[from] CueError),
}

/// What happened next; see the module docs.
#[derive(Debug)]
pub enum Event {
    /// A frame was processed: [`Runner::frame`] and [`Runner::pipeline`] hold it and
    /// its detections.
    Frame {
        /// The pipeline's conclusion.
        decision: FrameDecision,
        /// What started to be heard, if anything.
        announcement: Option<Announcement>,
    },
    /// No frame came in time: the decision was advanced without one.
    Tick {
        /// Media time of the tick, s.
        t_s: f64,
        /// The decision after it.
        decision: Decision,
        /// What started to be heard, if anything.
        announcement: Option<Announcement>,
    },
    /// The source or the model failed. Unknown has been announced and played out; the
    /// run is over, and the caller should [`Runner::finish`] and report `error`.
    Fault {
        /// Media time of the fault, s.
        t_s: f64,
        /// The decision: unknown.
        decision: Decision,
        /// What started to be heard, if anything.
        announcement: Option<Announcement>,
        /// What failed.
        error: RunError,
    },
    /// One frame could not be read (see [`SourceError::BadFrame`]); it counted as a
    /// frame in which nothing could be seen, and the run goes on.
    BadFrame {
        /// Media time of the lost frame, s.
        t_s: f64,
        /// The decision after it.
        decision: Decision,
        /// What started to be heard, if anything.
        announcement: Option<Announcement>,
        /// Why it was lost.
        error: SourceError,
    },
    /// [`Runner::stop_flag`] was set: the run is over.
    Stopped,
    /// The source ended.
    End,
}

/// The run loop. See the module docs.
pub struct Runner {
    pipeline: Pipeline,
    source: Box<dyn FrameSource>,
    player: CuePlayer,
    pace: Pace,
    stall_timeout_s: f64,
    frame: Frame,
    /// `frame` holds a frame that is not processed yet: a gap in the frame times came
    /// before it, and ticks go first.
    held: bool,
    /// Media time and wall-clock instant of the last processed frame; None before the first.
    anchor: Option<(f64, Instant)>,
    /// Media time of the next tick, when no frame comes first.
    next_tick_s: f64,
    /// Latest media time handed out, s.
    now_s: f64,
    frames: u64,
    bad_frames: u64,
    stop: Arc<AtomicBool>,
    over: bool,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner").field("source", &self.source.info().description).finish_non_exhaustive()
    }
}

impl Runner {
    /// Starts reading `source` (on its own thread, see [`Prefetch`]) at `pace`.
    ///
    /// # Errors
    /// [`SourceError::Reader`] when the reader thread cannot start.
    pub fn new<S: FrameSource + 'static>(
        pipeline: Pipeline,
        source: S,
        mut player: CuePlayer,
        pace: Pace,
        config: &Config,
    ) -> Result<Self, SourceError> {
        if !pipeline.classes().tells_state() {
            player.set_stateless_model();
        }
        let ahead = Prefetch::new(source)?;
        let source: Box<dyn FrameSource> = match pace {
            Pace::RealTime => Box::new(Paced::new(ahead, Clock::Wall)),
            Pace::AsFastAsPossible => Box::new(ahead),
        };
        Ok(Self {
            pipeline,
            source,
            player,
            pace,
            stall_timeout_s: config.smoother.stall_timeout_s,
            frame: Frame::default(),
            held: false,
            anchor: None,
            next_tick_s: 0.0,
            now_s: 0.0,
            frames: 0,
            bad_frames: 0,
            stop: Arc::default(),
            over: false,
        })
    }

    /// Set it (from a signal handler, another thread) to end the run at the next event.
    pub fn stop_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.stop)
    }

    /// Uses `flag` as the stop flag: one a signal handler installed before the model
    /// and the source were opened, so a Ctrl-C during start-up is not lost.
    #[must_use]
    pub fn stopped_by(mut self, flag: Arc<AtomicBool>) -> Self {
        self.stop = flag;
        self
    }

    /// Waits for what happens next. After [`Event::Fault`], [`Event::Stopped`] or
    /// [`Event::End`], every further call returns [`Event::End`].
    ///
    /// # Errors
    /// [`RunError::Cue`] when the sound output fails: nothing can be announced then.
    pub fn next_event(&mut self) -> Result<Event, RunError> {
        loop {
            if self.over {
                return Ok(Event::End);
            }
            if self.stop.load(Ordering::SeqCst) {
                self.over = true;
                return Ok(Event::Stopped);
            }
            if self.held {
                if self.frame.t_s() > self.next_tick_s {
                    return self.tick(self.next_tick_s);
                }
                self.held = false;
                return self.process();
            }
            let deadline = match self.anchor {
                // Never in the past (a deadline that has passed would spin).
                Some((t, wall)) => wall + Duration::from_secs_f64((self.next_tick_s - t).clamp(0.0, 3600.0)),
                None => Instant::now() + Duration::from_secs_f64(self.stall_timeout_s),
            };
            match self.source.next_frame_until(&mut self.frame, deadline) {
                Ok(Next::Frame) => {
                    let gap_first = self.anchor.is_some()
                        && self.pace == Pace::AsFastAsPossible
                        && self.frame.t_s() > self.next_tick_s;
                    if gap_first {
                        self.held = true;
                        return self.tick(self.next_tick_s);
                    }
                    return self.process();
                }
                Ok(Next::Pending) => {
                    if let Some((t, wall)) = self.anchor {
                        return self.tick(t + wall.elapsed().as_secs_f64());
                    }
                    // Still waiting for the first frame (a camera warming up): only a stop
                    // request ends the wait; see the module docs.
                }
                Ok(Next::End) => {
                    self.over = true;
                    return Ok(Event::End);
                }
                Err(e) => {
                    return match e.bad_frame_time() {
                        Some(t) => self.bad_frame(t, e),
                        None => self.fault(e.into()),
                    };
                }
            }
        }
    }

    fn bad_frame(&mut self, t: f64, error: SourceError) -> Result<Event, RunError> {
        let chain = crate::error_chain(&error);
        if self.bad_frames == 0 {
            tracing::warn!("{chain}; it counts as unknown (further unreadable frames are logged at debug level)");
        } else {
            tracing::debug!("{chain}");
        }
        self.bad_frames += 1;
        // The source is alive, so the stall clock restarts as after a frame.
        self.anchor = Some((t, Instant::now()));
        self.next_tick_s = t + self.stall_timeout_s + 1e-3;
        self.now_s = self.now_s.max(t);
        let decision = self.pipeline.unseen(t);
        let announcement = self.player.update(t, decision.state, decision.basis, false)?;
        Ok(Event::BadFrame { t_s: t, decision, announcement, error })
    }

    fn process(&mut self) -> Result<Event, RunError> {
        let t = self.frame.t_s();
        let decision = match self.pipeline.process(&self.frame) {
            Ok(d) => d,
            Err(e) => return self.fault(e.into()),
        };
        self.frames += 1;
        self.anchor = Some((t, Instant::now()));
        // Just past the stall timeout, so the smoother counts it as a stall.
        self.next_tick_s = t + self.stall_timeout_s + 1e-3;
        self.now_s = self.now_s.max(t);
        let d = decision.decision;
        let announcement = self.player.update(t, d.state, d.basis, decision.signal_in_view)?;
        Ok(Event::Frame { decision, announcement })
    }

    fn tick(&mut self, t_s: f64) -> Result<Event, RunError> {
        let t_s = t_s.max(self.now_s);
        self.now_s = t_s;
        self.next_tick_s = t_s + TICK_EVERY_S;
        let decision = self.pipeline.tick(t_s);
        let announcement = self.player.update(t_s, decision.state, decision.basis, false)?;
        Ok(Event::Tick { t_s, decision, announcement })
    }

    fn fault(&mut self, error: RunError) -> Result<Event, RunError> {
        self.over = true;
        let t_s = match (self.pace, self.anchor) {
            (Pace::RealTime, Some((t, wall))) => (t + wall.elapsed().as_secs_f64()).max(self.now_s),
            _ => self.now_s,
        };
        let decision = self.pipeline.fault(t_s);
        debug_assert_eq!(decision.state, SignalState::Unknown);
        let announcement = self.player.fault(t_s)?;
        self.player.play_out(t_s, FAULT_PLAY_OUT_S)?;
        Ok(Event::Fault { t_s, decision, announcement, error })
    }

    /// The frame of the last [`Event::Frame`].
    pub fn frame(&self) -> &Frame {
        &self.frame
    }

    /// The pipeline (detections of the last frame, classes, backend).
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    /// Frames processed so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Frames lost so far (see [`Event::BadFrame`]).
    pub fn bad_frames(&self) -> u64 {
        self.bad_frames
    }

    /// What the source is.
    pub fn source_description(&self) -> &str {
        &self.source.info().description
    }

    /// The source's nominal frame rate, frames per second (0 when unknown).
    pub fn source_fps(&self) -> f64 {
        self.source.info().fps
    }

    /// The player's note about its output (e.g. no sound device, writing a WAV instead).
    pub fn player_notice(&self) -> Option<&str> {
        self.player.notice()
    }

    /// Ends the sound with a short fade and completes the WAV file, if any, returning
    /// its path.
    ///
    /// # Errors
    /// [`CueError::Wav`] if the WAV file cannot be completed.
    pub fn finish(self) -> Result<Option<PathBuf>, CueError> {
        self.player.finish()
    }
}

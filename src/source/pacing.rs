//! Real-time pacing for recorded sources.
//!
//! A camera never waits for us: if processing a frame takes 200 ms, the next frame we
//! read is the newest one, and those in between are gone. [`Paced`] gives files the
//! same behaviour, so that what the user hears never lags behind the street: frames
//! whose time has already passed are skipped, never queued. When the inner source can
//! peek at the next frame's time (MP4), a stale frame is decoded but not converted to
//! RGB. Over a [`Prefetch`](super::prefetch::Prefetch), as in `safecross run`, it cannot:
//! the reader thread has already converted the frame, on its own core, before it is
//! dropped here. Pacing inside the reader instead would keep that saving but judge
//! frames stale up to one frame earlier; that trade-off is for a slow board to measure.
//!
//! The clock is either the wall clock, or a simulated one that advances by the time
//! spent processing, times a slowdown factor, to show how a board K times slower than
//! this machine would behave, without waiting for it, or one the caller steps.

use super::{FrameSource, Next, SourceError, SourceInfo};
use crate::frame::Frame;
use std::time::{Duration, Instant};

/// How the clock that decides staleness runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Clock {
    /// Wall-clock time; frames that are early are waited for.
    Wall,
    /// Simulated time: processing time between reads, multiplied by `slowdown`, is
    /// added to the clock; no sleeping.
    Simulated {
        /// How many times slower than this machine the simulated board is (>= 1).
        slowdown: f64,
    },
    /// Time that moves only by [`Paced::advance`] (how long the caller's processing
    /// took) and to the next frame's time when waiting for it: no clock is read, so a
    /// test drives it exactly.
    Stepped,
}

/// A source read in real time: stale frames are dropped.
pub struct Paced<S> {
    inner: S,
    clock: Clock,
    started: Option<Instant>,
    sim_now: Duration,
    last_return: Option<Instant>,
    dropped: u64,
    scratch: Frame,
    /// A decoded frame not yet handed out (it was not due by the caller's deadline).
    held_frame: Frame,
    held: bool,
}

impl<S: FrameSource> Paced<S> {
    /// Wraps a source.
    pub fn new(inner: S, clock: Clock) -> Self {
        Self {
            inner,
            clock,
            started: None,
            sim_now: Duration::ZERO,
            last_return: None,
            dropped: 0,
            scratch: Frame::default(),
            held_frame: Frame::default(),
            held: false,
        }
    }

    /// Frames skipped so far because they were already stale.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// With [`Clock::Stepped`]: `took` of processing has passed since the last frame.
    pub fn advance(&mut self, took: Duration) {
        self.sim_now += took;
    }

    fn now(&mut self) -> Duration {
        match self.clock {
            Clock::Stepped => self.sim_now,
            Clock::Wall => self.started.get_or_insert_with(Instant::now).elapsed(),
            Clock::Simulated { slowdown } => {
                if let Some(last) = self.last_return {
                    self.sim_now += last.elapsed().mul_f64(slowdown.max(1.0));
                    self.last_return = Some(Instant::now());
                }
                self.sim_now
            }
        }
    }
}

impl<S: FrameSource> Paced<S> {
    /// The next due frame, waiting at most until `deadline` (None: as long as it takes).
    fn pull(&mut self, frame: &mut Frame, deadline: Option<Instant>) -> Result<Next, SourceError> {
        if self.inner.info().live {
            return match deadline {
                Some(d) => self.inner.next_frame_until(frame, d),
                None => Ok(if self.inner.next_frame(frame)? { Next::Frame } else { Next::End }),
            };
        }
        let period = Duration::from_secs_f64(1.0 / self.inner.info().fps.max(1.0));
        // Skip every frame whose successor is also already due: only the newest due frame is shown.
        loop {
            let now = self.now();
            // The candidate: a frame decoded earlier and held back because it was not yet
            // due when the caller's deadline came, else the inner source's next frame,
            // peeked at without decoding when the source can.
            let next_pts = match (self.held, self.inner.peek_pts()) {
                (true, _) => self.held_frame.pts,
                (false, Some(p)) => p,
                (false, None) => {
                    let got = match deadline {
                        Some(d) => self.inner.next_frame_until(&mut self.held_frame, d)?,
                        None => {
                            if self.inner.next_frame(&mut self.held_frame)? {
                                Next::Frame
                            } else {
                                Next::End
                            }
                        }
                    };
                    if got != Next::Frame {
                        return Ok(got);
                    }
                    self.held = true;
                    self.held_frame.pts
                }
            };
            if next_pts + period <= now {
                if self.held {
                    self.held = false;
                } else if self.inner.skip_frame(&mut self.scratch)?.is_none() {
                    return Ok(Next::End);
                }
                self.dropped += 1;
                continue;
            }
            if next_pts > now {
                match self.clock {
                    Clock::Wall => {
                        let wait = next_pts - now;
                        let left = deadline.map_or(wait, |d| d.saturating_duration_since(Instant::now()));
                        if wait > left {
                            // Not due before the caller's deadline: keep it (decoded or
                            // not) for the next call.
                            std::thread::sleep(left);
                            return Ok(Next::Pending);
                        }
                        std::thread::sleep(wait);
                    }
                    Clock::Simulated { .. } | Clock::Stepped => self.sim_now = next_pts,
                }
            }
            if self.held {
                std::mem::swap(frame, &mut self.held_frame);
                self.held = false;
            } else if !self.inner.next_frame(frame)? {
                return Ok(Next::End);
            }
            if let Clock::Simulated { .. } = self.clock {
                self.last_return = Some(Instant::now());
            }
            return Ok(Next::Frame);
        }
    }
}

impl<S: FrameSource> FrameSource for Paced<S> {
    fn info(&self) -> &SourceInfo {
        self.inner.info()
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        Ok(self.pull(frame, None)? == Next::Frame)
    }

    fn next_frame_until(&mut self, frame: &mut Frame, deadline: Instant) -> Result<Next, SourceError> {
        self.pull(frame, Some(deadline))
    }
}

//! Reading ahead: the next frame is decoded on its own thread while the model runs on
//! the caller's.
//!
//! Decoding and colour conversion of a 540p-1080p frame take 1-5 ms, a fifth to most of
//! what the model itself takes. Done in turn, every frame waits for both; done side by
//! side, the pipeline's pace is set by the slower of the two, and on a 2-core machine
//! the model's own threads still get most of the CPU.
//!
//! Exactly one frame is read ahead, never more: a deeper queue would only add latency,
//! since for a camera each queued frame is one more frame period of staleness. Two
//! buffers take turns (the caller's and the reader's), swapped rather than copied, so
//! nothing is allocated per frame once both have the frame's size.

use super::{FrameSource, Next, SourceError, SourceInfo};
use crate::frame::Frame;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// What the reader thread hands over.
enum Read {
    Frame { frame: Frame, decode: Duration },
    End,
    Failed(SourceError),
}

/// A source whose next frame is read on a background thread. See the module docs.
pub struct Prefetch {
    info: SourceInfo,
    filled: Receiver<Read>,
    empty: SyncSender<Frame>,
    finished: bool,
    last_decode: Duration,
}

impl std::fmt::Debug for Prefetch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prefetch").field("source", &self.info.description).finish_non_exhaustive()
    }
}

impl Prefetch {
    /// Starts reading `source` on a new thread; the first frame is decoding by the time
    /// this returns.
    ///
    /// # Errors
    /// [`SourceError::Reader`] when the thread cannot be started.
    pub fn new<S: FrameSource + 'static>(mut source: S) -> Result<Self, SourceError> {
        let info = source.info().clone();
        let (filled_tx, filled) = sync_channel::<Read>(1);
        let (empty, empty_rx) = sync_channel::<Frame>(1);
        // The reader's own buffer; the caller's buffer joins the rotation on the first swap.
        empty.send(Frame::default()).map_err(|_| SourceError::Reader("frame pool closed at start".into()))?;
        std::thread::Builder::new()
            .name("safecross-reader".into())
            .spawn(move || {
                // Ends when the caller drops its side: `recv` or `send` then fail.
                while let Ok(mut frame) = empty_rx.recv() {
                    loop {
                        let started = Instant::now();
                        let message = match source.next_frame(&mut frame) {
                            Ok(true) => Read::Frame { frame, decode: started.elapsed() },
                            Ok(false) => Read::End,
                            // A lost frame is not the end: report it, keep the buffer and
                            // read the next one.
                            Err(e) if e.bad_frame_time().is_some() => {
                                if filled_tx.send(Read::Failed(e)).is_err() {
                                    return;
                                }
                                continue;
                            }
                            Err(e) => Read::Failed(e),
                        };
                        let last = !matches!(message, Read::Frame { .. });
                        if filled_tx.send(message).is_err() || last {
                            return;
                        }
                        break;
                    }
                }
            })
            .map_err(|e| SourceError::Reader(format!("cannot start the reader thread: {e}")))?;
        Ok(Self { info, filled, empty, finished: false, last_decode: Duration::ZERO })
    }

    /// How long reading and decoding the last returned frame took on the reader thread.
    pub fn last_decode(&self) -> Duration {
        self.last_decode
    }
}

impl FrameSource for Prefetch {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
        if self.finished {
            return Ok(false);
        }
        let read = self.filled.recv().unwrap_or_else(|_| reader_stopped());
        Ok(self.take(read, frame)? == Next::Frame)
    }

    fn next_frame_until(&mut self, frame: &mut Frame, deadline: Instant) -> Result<Next, SourceError> {
        if self.finished {
            return Ok(Next::End);
        }
        match self.filled.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok(read) => self.take(read, frame),
            Err(RecvTimeoutError::Timeout) => Ok(Next::Pending),
            Err(RecvTimeoutError::Disconnected) => self.take(reader_stopped(), frame),
        }
    }
}

fn reader_stopped() -> Read {
    Read::Failed(SourceError::Reader("the reader thread stopped".into()))
}

impl Prefetch {
    fn take(&mut self, read: Read, frame: &mut Frame) -> Result<Next, SourceError> {
        match read {
            Read::Frame { frame: mut fresh, decode } => {
                std::mem::swap(frame, &mut fresh);
                self.last_decode = decode;
                // The reader starts on the following frame as soon as it has a buffer. A
                // closed pool means the reader already stopped; the next `recv` says why.
                let _ = self.empty.send(fresh);
                Ok(Next::Frame)
            }
            Read::End => {
                self.finished = true;
                Ok(Next::End)
            }
            Read::Failed(e) => {
                self.finished = e.bad_frame_time().is_none();
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// Frames numbered 0..n whose pixels carry the number, then an optional error.
    struct Counter {
        info: SourceInfo,
        next: u64,
        n: u64,
        fail_at_end: bool,
        dropped: Arc<AtomicBool>,
    }

    impl Counter {
        fn new(n: u64, fail_at_end: bool) -> Self {
            let info = SourceInfo {
                description: "counter".into(),
                width: 8,
                height: 4,
                fps: 10.0,
                duration_s: None,
                live: false,
            };
            Self { info, next: 0, n, fail_at_end, dropped: Arc::default() }
        }
    }

    impl Drop for Counter {
        fn drop(&mut self) {
            self.dropped.store(true, Ordering::SeqCst);
        }
    }

    impl FrameSource for Counter {
        fn info(&self) -> &SourceInfo {
            &self.info
        }

        fn next_frame(&mut self, frame: &mut Frame) -> Result<bool, SourceError> {
            if self.next == self.n {
                if self.fail_at_end {
                    return Err(SourceError::Corrupt { path: "counter".into(), detail: "cut short".into() });
                }
                return Ok(false);
            }
            frame.reshape(8, 4);
            frame.rgb.fill(self.next as u8);
            frame.seq = self.next;
            frame.pts = Duration::from_millis(100 * self.next);
            self.next += 1;
            Ok(true)
        }
    }

    #[test]
    fn delivers_every_frame_in_order_then_the_end() {
        let mut source = Prefetch::new(Counter::new(50, false)).unwrap();
        let mut frame = Frame::default();
        for i in 0..50u64 {
            assert!(source.next_frame(&mut frame).unwrap());
            assert_eq!(frame.seq, i);
            assert_eq!(frame.pts, Duration::from_millis(100 * i));
            assert!(frame.rgb.iter().all(|&v| v == i as u8), "frame {i} holds another frame's pixels");
        }
        assert!(!source.next_frame(&mut frame).unwrap());
        assert!(!source.next_frame(&mut frame).unwrap(), "the end stays the end");
    }

    #[test]
    fn a_read_error_reaches_the_caller_after_the_good_frames() {
        let mut source = Prefetch::new(Counter::new(3, true)).unwrap();
        let mut frame = Frame::default();
        for _ in 0..3 {
            assert!(source.next_frame(&mut frame).unwrap());
        }
        let err = source.next_frame(&mut frame).unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }

    #[test]
    fn dropping_early_stops_the_reader() {
        // A reader blocked on a full hand-over slot must not outlive its consumer.
        let counter = Counter::new(u64::MAX, false);
        let reader_gone = Arc::clone(&counter.dropped);
        let mut source = Prefetch::new(counter).unwrap();
        let mut frame = Frame::default();
        assert!(source.next_frame(&mut frame).unwrap());
        drop(source);
        // The reader drops its source when it returns; give the scheduler a generous while.
        let deadline = Instant::now() + Duration::from_secs(10);
        while !reader_gone.load(Ordering::SeqCst) {
            assert!(Instant::now() < deadline, "the reader thread kept running after its consumer was dropped");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

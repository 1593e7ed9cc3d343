//! Freeze detection: a picture that stops changing means the camera stopped, even when
//! frames keep arriving.
//!
//! A camera driver that hands out the same buffer again and again, a video player stuck
//! on one frame, or a folder of copies of one image all deliver frames on time, so the
//! smoother's stall rule never fires, and a frozen walk lamp would keep "walk" on for as
//! long as the freeze lasts. [`FreezeDetector`] compares each frame with the frame the
//! current still stretch began with, on a coarse grid of pixels, and reports the picture
//! as frozen once it has stayed (nearly) identical for longer than
//! [`SourceConfig::freeze_after_s`](super::SourceConfig::freeze_after_s).
//!
//! # What a live picture looks like
//!
//! A real camera never gives two byte-identical frames: sensor noise moves every pixel
//! by 1-3 levels (of 255) in daylight and more at night, so the mean absolute difference
//! between two frames of a perfectly still scene is about 1 level, and more with a
//! hand-held camera. Measured on the grid used here:
//!
//! | picture | mean difference |
//! |---|---|
//! | bundled sample clips (`samples/`: hand-held, sensor noise, H.264 at 400 kbit/s) | 0.26 or more between consecutive frames (`night.mp4`; most clips above 0.3) |
//! | an H.264 recording of a still scene with noise of 3 levels (x264, CRF 23) | 0.09-0.24 from its first frame |
//! | one still image looped into an H.264 MP4 (x264 refines it frame by frame) | at most 0.03 from its first frame |
//! | the same buffer again, or copies of one image | 0 |
//!
//! The default threshold, 0.1 ([`SourceConfig::freeze_max_mean_diff`](super::SourceConfig::freeze_max_mean_diff)),
//! lies between the frozen cases and anything a live camera gives. Comparing with the
//! first frame of the stretch, not with the previous frame, keeps a slow drift (an
//! encoder refining a still picture) from looking like life, and keeps a slow real
//! change from looking frozen.

use crate::frame::Frame;

/// Grid points per frame side (the longer one): enough to see sensor noise and any
/// motion, few enough to cost microseconds (at most 160 x 160 pixels).
const GRID: u32 = 160;

/// Tells a frozen picture from a live one, frame by frame, without allocating once it
/// has seen a frame of the current size.
#[derive(Debug, Clone)]
pub struct FreezeDetector {
    after_s: f64,
    max_mean_diff: f32,
    /// Grid samples (RGB) of the frame the current still stretch began with.
    anchor: Vec<u8>,
    /// Width and height of the frame the anchor was taken from.
    size: (u32, u32),
    /// Media time of that frame; `None` before the first frame.
    since_s: Option<f64>,
}

impl FreezeDetector {
    /// A detector that reports a picture frozen once it has stayed within
    /// `max_mean_diff` levels (mean absolute difference per colour sample) of one frame
    /// for longer than `after_s` seconds of media time. Call
    /// [`SourceConfig::validate`](super::SourceConfig::validate) first.
    pub fn new(after_s: f64, max_mean_diff: f32) -> Self {
        Self { after_s, max_mean_diff, anchor: Vec::new(), size: (0, 0), since_s: None }
    }

    /// Looks at the next frame; returns whether the picture is frozen as of this frame.
    pub fn update(&mut self, frame: &Frame) -> bool {
        let t = frame.t_s();
        if let Some(since) = self.since_s
            && self.size == (frame.width, frame.height)
            && self.still(frame)
        {
            return t - since > self.after_s;
        }
        // A new stretch begins here (first frame, new size, or the picture changed).
        self.anchor.clear();
        for_each_sample(frame, |px| self.anchor.extend_from_slice(px));
        self.size = (frame.width, frame.height);
        self.since_s = Some(t);
        false
    }

    /// Forgets the picture, e.g. for a new source whose time restarts at 0.
    pub fn reset(&mut self) {
        self.since_s = None;
    }

    /// Whether `frame` is within the threshold of the anchor. Stops reading at the first
    /// row that puts it over, so a live picture costs only a few rows.
    fn still(&self, frame: &Frame) -> bool {
        if self.anchor.is_empty() {
            return false;
        }
        let limit = f64::from(self.max_mean_diff) * self.anchor.len() as f64;
        let mut sum = 0u64;
        let mut at = 0usize;
        let mut over = false;
        for_each_sample(frame, |px| {
            if over {
                return;
            }
            for (&a, &b) in self.anchor.get(at..at + 3).unwrap_or(&[]).iter().zip(px) {
                sum += u64::from(a.abs_diff(b));
            }
            at += 3;
            over = sum as f64 > limit;
        });
        !over && at == self.anchor.len()
    }
}

/// Calls `f` with the RGB bytes of each grid point of `frame`, row by row. A frame whose
/// buffer is shorter than its size says gives no samples past the end.
fn for_each_sample(frame: &Frame, mut f: impl FnMut(&[u8])) {
    let (w, h) = (frame.width as usize, frame.height as usize);
    let step = (frame.width.max(frame.height).div_ceil(GRID)).max(1) as usize;
    for y in (step / 2..h).step_by(step) {
        let Some(row) = frame.rgb.get(y * w * 3..(y + 1) * w * 3) else { return };
        for px in row.chunks_exact(3).skip(step / 2).step_by(step) {
            f(px);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const FPS: f64 = 10.0;

    /// A textured 320x240 picture (so that motion changes pixels) at frame `i` of `FPS`.
    fn picture(i: u64) -> Frame {
        let mut f = Frame::new(320, 240);
        for (k, b) in f.rgb.iter_mut().enumerate() {
            *b = ((k * 7 + k / 960 * 13) % 200) as u8 + 20;
        }
        f.seq = i;
        f.pts = Duration::from_secs_f64(i as f64 / FPS);
        f
    }

    fn at(mut f: Frame, i: u64) -> Frame {
        f.seq = i;
        f.pts = Duration::from_secs_f64(i as f64 / FPS);
        f
    }

    /// Frames `0..n` from `make`, with whether each was reported frozen.
    fn run(det: &mut FreezeDetector, n: u64, make: impl Fn(u64) -> Frame) -> Vec<(f64, bool)> {
        (0..n).map(make).map(|f| (f.t_s(), det.update(&f))).collect()
    }

    #[test]
    fn identical_frames_are_frozen_after_the_threshold_and_not_before() {
        let mut det = FreezeDetector::new(1.0, 0.1);
        let seen = run(&mut det, 30, picture);
        for (t, frozen) in seen {
            assert_eq!(frozen, t > 1.0 + 1e-9, "at {t} s");
        }
    }

    #[test]
    fn nearly_identical_frames_count_as_frozen() {
        // What an encoder refining a looped still gives: a few pixels a level or two off.
        let mut det = FreezeDetector::new(1.0, 0.1);
        let seen = run(&mut det, 20, |i| {
            let mut f = picture(i);
            for k in 0..50 {
                let at = (k * 4099 + i as usize * 31) % f.rgb.len();
                f.rgb[at] = f.rgb[at].saturating_add(2);
            }
            f
        });
        assert!(seen.iter().filter(|(t, _)| *t > 1.05).all(|(_, frozen)| *frozen), "{seen:?}");
    }

    #[test]
    fn sensor_noise_is_never_frozen() {
        // A still scene from a real camera: every pixel jitters by up to 2 levels.
        let mut det = FreezeDetector::new(1.0, 0.1);
        let seen = run(&mut det, 60, |i| {
            let mut f = picture(i);
            let mut state = 0x9E37_79B9_u32.wrapping_mul(i as u32 + 1);
            for b in &mut f.rgb {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                *b = b.saturating_add((state % 5) as u8).saturating_sub(2);
            }
            f
        });
        assert!(seen.iter().all(|(_, frozen)| !frozen), "{seen:?}");
    }

    #[test]
    fn motion_is_never_frozen() {
        // A noiseless picture in which one small bright square moves.
        let mut det = FreezeDetector::new(1.0, 0.1);
        let seen = run(&mut det, 60, |i| {
            let mut f = picture(i);
            let x0 = (i as u32 * 4) % 280;
            for y in 100..140 {
                for x in x0..x0 + 40 {
                    let p = ((y * 320 + x) * 3) as usize;
                    f.rgb[p..p + 3].copy_from_slice(&[255, 255, 255]);
                }
            }
            f
        });
        assert!(seen.iter().all(|(_, frozen)| !frozen), "{seen:?}");
    }

    #[test]
    fn a_change_ends_the_freeze_and_the_clock_starts_again() {
        let mut det = FreezeDetector::new(1.0, 0.1);
        let still = picture(0);
        assert!(run(&mut det, 15, |i| at(still.clone(), i)).last().is_some_and(|&(_, frozen)| frozen));
        let mut other = still.clone();
        other.rgb.iter_mut().for_each(|b| *b = b.wrapping_add(40));
        // The new picture starts a new stretch at 1.5 s: live until 2.5 s, frozen after.
        let seen: Vec<_> = (15..40).map(|i| at(other.clone(), i)).map(|f| (f.t_s(), det.update(&f))).collect();
        for (t, frozen) in seen {
            assert_eq!(frozen, t > 2.5 + 1e-9, "at {t} s");
        }
        // A new size is a new picture too.
        assert!(!det.update(&at(Frame::new(64, 48), 40)));
    }

    #[test]
    fn reset_forgets_the_picture() {
        let mut det = FreezeDetector::new(1.0, 0.1);
        let still = picture(0);
        assert!(run(&mut det, 15, |i| at(still.clone(), i)).last().is_some_and(|&(_, frozen)| frozen));
        det.reset();
        assert!(!det.update(&at(still.clone(), 0)), "a new source starts live");
    }

    #[test]
    fn a_warm_detector_does_not_reallocate() {
        let mut det = FreezeDetector::new(1.0, 0.1);
        det.update(&picture(0));
        let (ptr, cap) = (det.anchor.as_ptr(), det.anchor.capacity());
        for i in 1..10 {
            let mut f = picture(i);
            f.rgb.iter_mut().for_each(|b| *b = b.wrapping_add((i as u8).wrapping_mul(30)));
            det.update(&f);
        }
        assert_eq!((det.anchor.as_ptr(), det.anchor.capacity()), (ptr, cap));
    }
}

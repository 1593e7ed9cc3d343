//! Separable bilinear-convolution resize from interleaved RGB8 straight into the planar
//! `f32` model input.
//!
//! The filter is PIL's BILINEAR (and `fast_image_resize`'s "Bilinear convolution"): a
//! triangle whose support grows with the downscale ratio, so every source pixel counts
//! and a lamp a few pixels wide is averaged instead of skipped. Weights depend only on
//! the sizes, so [`Resizer`] computes them when the sizes change and keeps them, with its
//! scratch rows, for the following frames: a warm resize allocates nothing.
//!
//! The fast path works one output row at a time:
//! 1. The vertical pass first, as `fast_image_resize` does for 8-bit images: it reads
//!    whole source rows, which are contiguous, and carries most of the work (the source
//!    has several times more rows than the output). It leaves one interleaved row.
//! 2. That row is split into R, G and B planes, so that the horizontal windows are
//!    contiguous.
//! 3. The horizontal pass takes each output as a dot product over a window padded to 8
//!    or a multiple of 16 taps, and writes the tensor row directly: no scaled RGB8 image
//!    in between.
//!
//! Everything is integer: weights with 14 fractional bits, each output's summing to
//! exactly one (so a flat colour stays exactly flat), and 7 fractional bits kept between
//! the passes. Rounding to 8 bits happens once, at the end, so the model sees the 1/255
//! steps it was trained on; the reference kernel, in floating point, is within one step.
//!
//! The plain kernels are written for LLVM's auto-vectoriser (fixed-size chunks, bounds
//! checks hoisted out of the inner loops); they are what Arm (NEON) and x86-64 without
//! AVX2 run, the latter compiled again with SSE4.1 when the CPU has it. With AVX2, the
//! two passes use intrinsics instead (see [`avx2`] for why). Every fixed-point kernel
//! gives the same bits; the kernel is picked once, when the preprocessor is made.

/// Fractional bits of the fixed-point weights: a weight of one still fits an `i16`.
const WEIGHT_BITS: u32 = 14;
/// Fractional bits kept in the intermediate rows between the two passes: 255 with them
/// still fits an `i16`, and a weighted sum of those fits an `i32`.
const MID_BITS: u32 = 7;
/// Outputs per step of the horizontal pass.
const BLOCK: usize = 8;

/// Which implementation [`Resizer::run`] uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kernel {
    /// Floating point, one tap at a time: the reference.
    Portable,
    /// Fixed point, the plain loops compiled for the baseline target.
    Fixed,
    /// Fixed point, the plain loops compiled with SSE4.1 (only chosen when the CPU has it).
    #[cfg(target_arch = "x86_64")]
    FixedSse41,
    /// Fixed point, AVX2 intrinsics for both passes (only chosen when the CPU has it).
    #[cfg(target_arch = "x86_64")]
    FixedAvx2,
}

impl Kernel {
    /// The fastest fixed-point kernel this CPU runs.
    pub(super) fn best() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx2") {
            return Self::FixedAvx2;
        } else if std::arch::is_x86_feature_detected!("sse4.1") {
            return Self::FixedSse41;
        }
        Self::Fixed
    }

    /// The fastest fixed-point kernel short of AVX2, for benches of what CPUs without it get.
    pub(super) fn best_without_avx2() -> Self {
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("sse4.1") {
            return Self::FixedSse41;
        }
        Self::Fixed
    }

    /// Every fixed-point kernel this CPU runs, for tests that compare them.
    #[cfg(test)]
    pub(super) fn all_fixed() -> Vec<Self> {
        #[allow(unused_mut)] // Only x86-64 has more than one.
        let mut all = vec![Self::Fixed];
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("sse4.1") {
                all.push(Self::FixedSse41);
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                all.push(Self::FixedAvx2);
            }
        }
        all
    }
}

/// Filter weights along one axis: for each output index, a window of source indices.
///
/// Outputs are padded to a multiple of `BLOCK` with empty windows, so that the
/// horizontal pass always takes whole blocks.
#[derive(Debug, Default)]
struct Axis {
    /// First source index of each output's window.
    starts: Vec<usize>,
    /// Taps in each output's window, zero weights at the ends trimmed.
    lens: Vec<usize>,
    /// Weights per output, `stride` apart (zero past `lens`), summing to 1.
    float: Vec<f32>,
    /// Room per output in `float`: the longest window rounded up to 8, or to a multiple
    /// of 16 past 8 (one `pmaddwd` takes 16 taps).
    stride: usize,
    /// The largest of `starts`.
    last_start: usize,
}

impl Axis {
    /// Recomputes the weights for `in_size -> out_size`, reusing the vectors.
    fn compute(&mut self, in_size: usize, out_size: usize) {
        let scale = in_size as f64 / out_size as f64;
        // Downscaling widens the triangle to cover every source pixel; upscaling keeps
        // it one source pixel wide.
        let filter_scale = scale.max(1.0);
        let weight = |out: usize, x: usize| triangle((x as f64 + 0.5 - (out as f64 + 0.5) * scale) / filter_scale);
        self.starts.clear();
        self.lens.clear();
        for out in 0..out_size {
            let centre = (out as f64 + 0.5) * scale;
            let mut start = (centre - filter_scale).floor().max(0.0) as usize;
            let mut end = ((centre + filter_scale).ceil() as usize).min(in_size);
            while start < end && weight(out, start) == 0.0 {
                start += 1;
            }
            while end > start && weight(out, end - 1) == 0.0 {
                end -= 1;
            }
            if start == end {
                // Not reachable for a triangle at least one source pixel wide, but every
                // output needs a window.
                start = (centre as usize).min(in_size - 1);
                end = start + 1;
            }
            self.starts.push(start);
            self.lens.push(end - start);
        }
        let longest = self.lens.iter().copied().max().unwrap_or(1);
        self.last_start = self.starts.iter().copied().max().unwrap_or(0);
        self.stride = if longest <= 8 { 8 } else { longest.div_ceil(16) * 16 };
        let padded = out_size.div_ceil(BLOCK) * BLOCK;
        self.starts.resize(padded, 0);
        self.lens.resize(padded, 0);

        self.float.clear();
        self.float.resize(self.stride * padded, 0.0);
        for (out, float) in self.float.chunks_exact_mut(self.stride).take(out_size).enumerate() {
            let (start, len) = (self.starts[out], self.lens[out]);
            let raw = |k: usize| if len == 1 { 1.0 } else { weight(out, start + k) };
            let sum: f64 = (0..len).map(raw).sum();
            for (k, w) in float[..len].iter_mut().enumerate() {
                *w = (raw(k) / sum) as f32;
            }
        }
    }

    /// The weights in fixed point with `WEIGHT_BITS` fractional bits, `stride` apart.
    ///
    /// Each is the difference of the rounded running sums before and after it, so each
    /// output's weights sum to exactly one (flat areas stay flat), none is negative, and
    /// each is within one step of its exact value, however many taps there are.
    fn quantise(&self, out: &mut Vec<i16>) {
        let one = f64::from(1u32 << WEIGHT_BITS);
        out.clear();
        out.resize(self.float.len(), 0);
        for ((fixed, float), &len) in
            out.chunks_exact_mut(self.stride).zip(self.float.chunks_exact(self.stride)).zip(&self.lens)
        {
            let (mut running, mut before) = (0.0f64, 0.0f64);
            for (k, (q, &w)) in fixed[..len].iter_mut().zip(float).enumerate() {
                running += f64::from(w);
                let after = if k + 1 == len { one } else { (running * one).round().min(one) };
                *q = (after - before) as i16;
                before = after;
            }
        }
    }
}

fn triangle(x: f64) -> f64 {
    let x = x.abs();
    if x < 1.0 { 1.0 - x } else { 0.0 }
}

/// Where the resized image goes: a window of a planar `f32` tensor.
#[derive(Debug)]
pub(super) struct PlanarTarget<'a> {
    /// The whole tensor, three planes of `width * height`.
    pub(super) data: &'a mut [f32],
    /// Tensor width, px.
    pub(super) width: usize,
    /// Tensor height, px.
    pub(super) height: usize,
    /// Left edge of the window, px.
    pub(super) x: usize,
    /// Top edge of the window, px.
    pub(super) y: usize,
}

/// A resizer for one source size and one output size at a time, with cached weights and
/// scratch rows.
#[derive(Debug)]
pub(super) struct Resizer {
    /// `(src_w, src_h, dst_w, dst_h)` the weights are for.
    sizes: Option<(usize, usize, usize, usize)>,
    cols: Axis,
    rows: Axis,
    /// `rows` weights for the vertical pass, `WEIGHT_BITS` fractional bits.
    row_weights: Vec<i16>,
    /// `cols` weights for the horizontal pass, `WEIGHT_BITS` fractional bits.
    col_weights: Vec<i16>,
    /// One vertically filtered row, interleaved RGB, `MID_BITS` fractional bits.
    mid_rgb: Vec<i16>,
    /// The same row as three planes of `src_w + cols.stride` (the tail stays zero so that
    /// every padded horizontal window is in bounds).
    mid: Vec<i16>,
    /// The reference kernel's vertically filtered row, interleaved RGB.
    mid_float: Vec<f32>,
    /// `i / 255` for every 8-bit value.
    to_unit: [f32; 256],
}

impl Resizer {
    /// A resizer with no sizes yet.
    pub(super) fn new() -> Self {
        let mut to_unit = [0.0; 256];
        for (i, v) in to_unit.iter_mut().enumerate() {
            *v = i as f32 / 255.0;
        }
        Self {
            sizes: None,
            cols: Axis::default(),
            rows: Axis::default(),
            row_weights: Vec::new(),
            col_weights: Vec::new(),
            mid_rgb: Vec::new(),
            mid: Vec::new(),
            mid_float: Vec::new(),
            to_unit,
        }
    }

    /// Makes the weights and buffers ready for `src -> dst`; does nothing when they already are.
    pub(super) fn prepare(&mut self, src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) {
        if self.sizes == Some((src_w, src_h, dst_w, dst_h)) {
            return;
        }
        self.cols.compute(src_w, dst_w);
        self.rows.compute(src_h, dst_h);
        self.rows.quantise(&mut self.row_weights);
        self.cols.quantise(&mut self.col_weights);
        self.mid_rgb.clear();
        self.mid_rgb.resize(src_w * 3, 0);
        self.mid.clear();
        self.mid.resize(3 * (src_w + self.cols.stride), 0);
        self.mid_float.clear();
        self.mid_float.resize(3 * src_w, 0.0);
        self.sizes = Some((src_w, src_h, dst_w, dst_h));
    }

    /// Resizes the `src_w x src_h` RGB8 image `src` into `out` with the sizes given to the
    /// last [`Resizer::prepare`].
    ///
    /// The caller guarantees that `src` holds `src_w * src_h * 3` bytes and that the
    /// window fits in `out`.
    pub(super) fn run(&mut self, kernel: Kernel, src: &[u8], out: PlanarTarget<'_>) {
        match kernel {
            Kernel::Portable => self.run_portable(src, out),
            Kernel::Fixed => self.run_fixed::<false>(src, out),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::best` only picks this variant when the CPU has SSE4.1.
            Kernel::FixedSse41 => unsafe { self.run_fixed_sse41(src, out) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Kernel::best` only picks this variant when the CPU has AVX2.
            Kernel::FixedAvx2 => unsafe { self.run_fixed_avx2(src, out) },
        }
    }

    /// The reference: floating point, one tap at a time, vertical then horizontal.
    fn run_portable(&mut self, src: &[u8], out: PlanarTarget<'_>) {
        let Some((src_w, _, dst_w, dst_h)) = self.sizes else { return };
        let row_len = src_w * 3;
        let plane = out.width * out.height;
        for y in 0..dst_h {
            let (start, len) = (self.rows.starts[y], self.rows.lens[y]);
            let weights = &self.rows.float[y * self.rows.stride..][..len];
            for (i, m) in self.mid_float.iter_mut().enumerate() {
                let mut sum = 0.0;
                for (k, w) in weights.iter().enumerate() {
                    sum += w * f32::from(src[(start + k) * row_len + i]);
                }
                *m = sum;
            }
            for c in 0..3 {
                for x in 0..dst_w {
                    let (start, len) = (self.cols.starts[x], self.cols.lens[x]);
                    let weights = &self.cols.float[x * self.cols.stride..][..len];
                    let mut sum = 0.0;
                    for (k, w) in weights.iter().enumerate() {
                        sum += w * self.mid_float[(start + k) * 3 + c];
                    }
                    let at = c * plane + (out.y + y) * out.width + out.x + x;
                    out.data[at] = self.to_unit[sum.round().clamp(0.0, 255.0) as u8 as usize];
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.1")]
    fn run_fixed_sse41(&mut self, src: &[u8], out: PlanarTarget<'_>) {
        self.run_fixed::<false>(src, out);
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn run_fixed_avx2(&mut self, src: &[u8], out: PlanarTarget<'_>) {
        self.run_fixed::<true>(src, out);
    }

    /// The fast path. Inlined so that the caller's target features apply to the loops;
    /// `AVX2` swaps in the hand-written kernels for the two passes.
    #[inline(always)]
    fn run_fixed<const AVX2: bool>(&mut self, src: &[u8], out: PlanarTarget<'_>) {
        let Some((src_w, _, dst_w, dst_h)) = self.sizes else { return };
        let row_len = src_w * 3;
        let plane = out.width * out.height;
        let (out_r, rest) = out.data.split_at_mut(plane);
        let (out_g, out_b) = rest.split_at_mut(plane);
        let padded = src_w + self.cols.stride;
        let (mid_r, rest) = self.mid.split_at_mut(padded);
        let (mid_g, mid_b) = rest.split_at_mut(padded);
        for y in 0..dst_h {
            let (start, len) = (self.rows.starts[y], self.rows.lens[y]);
            let rows = &src[start * row_len..(start + len) * row_len];
            let weights = &self.row_weights[y * self.rows.stride..][..len];
            let done = vertical_avx2::<AVX2>(rows, row_len, weights, &mut self.mid_rgb);
            vertical(rows, row_len, weights, done, &mut self.mid_rgb);
            for (((px, r), g), b) in
                self.mid_rgb.chunks_exact(3).zip(mid_r.iter_mut()).zip(mid_g.iter_mut()).zip(mid_b.iter_mut())
            {
                *r = px[0];
                *g = px[1];
                *b = px[2];
            }

            let at = (out.y + y) * out.width + out.x;
            let dst = [&mut out_r[at..at + dst_w], &mut out_g[at..at + dst_w], &mut out_b[at..at + dst_w]];
            for (mid, dst) in [&*mid_r, &*mid_g, &*mid_b].into_iter().zip(dst) {
                let (starts, weights, n) = (&self.cols.starts, &self.col_weights, self.cols.stride);
                if horizontal_avx2::<AVX2>(mid, &self.cols, weights, dst) {
                    continue;
                }
                match n {
                    8 => horizontal(mid, starts, weights, 8, dst),
                    16 => horizontal(mid, starts, weights, 16, dst),
                    32 => horizontal(mid, starts, weights, 32, dst),
                    n => horizontal(mid, starts, weights, n, dst),
                }
            }
        }
    }
}

/// [`avx2::vertical`] when `AVX2`; returns how many elements it wrote (none otherwise).
#[inline(always)]
fn vertical_avx2<const AVX2: bool>(rows: &[u8], row_len: usize, weights: &[i16], out: &mut [i16]) -> usize {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: `AVX2` is only set by `Resizer::run_fixed_avx2`, which `Kernel::best`
        // only picks when the CPU has AVX2.
        return unsafe { avx2::vertical(rows, row_len, weights, out) };
    }
    let _ = (rows, row_len, weights, out);
    0
}

/// [`avx2::horizontal`] when `AVX2`; returns whether it ran.
#[inline(always)]
fn horizontal_avx2<const AVX2: bool>(mid: &[i16], cols: &Axis, weights: &[i16], out: &mut [f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if AVX2 {
        // SAFETY: as in `vertical_avx2`.
        unsafe { avx2::horizontal(mid, &cols.starts, cols.last_start, weights, cols.stride, out) };
        return true;
    }
    let _ = (mid, cols, weights, out);
    false
}

/// The vertical pass for one output row from element `from` on:
/// `out[i] = (sum_k w[k] * rows[k][i] + half) >> (WEIGHT_BITS - MID_BITS)`.
#[inline(always)]
fn vertical(rows: &[u8], row_len: usize, weights: &[i16], from: usize, out: &mut [i16]) {
    const CHUNK: usize = 32;
    let round = 1i32 << (WEIGHT_BITS - MID_BITS - 1);
    let out = &mut out[from..];
    let full = out.len() / CHUNK * CHUNK;
    for (c, o) in out[..full].chunks_exact_mut(CHUNK).enumerate() {
        // A chunk's sums stay in registers across all taps.
        let at = from + c * CHUNK;
        let mut acc = [round; CHUNK];
        for (row, &w) in rows.chunks_exact(row_len).zip(weights) {
            for (a, &p) in acc.iter_mut().zip(&row[at..at + CHUNK]) {
                *a += product(p, w);
            }
        }
        for (o, a) in o.iter_mut().zip(acc) {
            *o = (a >> (WEIGHT_BITS - MID_BITS)) as i16;
        }
    }
    let at = from + full;
    let tail = &mut out[full..];
    for (i, o) in tail.iter_mut().enumerate() {
        let mut acc = round;
        for (row, &w) in rows.chunks_exact(row_len).zip(weights) {
            acc += product(row[at + i], w);
        }
        *o = (acc >> (WEIGHT_BITS - MID_BITS)) as i16;
    }
}

/// `p * w` for the vertical pass (`w` is never negative), written as each target's
/// vector unit likes it: unsigned on Arm, where LLVM then widens to 16 bits and uses
/// `umlal` (rather than widening to 32 bits with `tbl` and using `mla`), and signed
/// elsewhere, where it uses `pmaddwd` (rather than `pmulld`).
#[inline(always)]
fn product(p: u8, w: i16) -> i32 {
    if cfg!(target_arch = "aarch64") {
        (u32::from(p) * u32::from(w as u16)) as i32
    } else {
        i32::from(p) * i32::from(w)
    }
}

/// Back from the fixed-point sum of both passes to an 8-bit step in `[0, 1]`.
#[inline(always)]
fn to_unit(sum: i32) -> f32 {
    let shift = WEIGHT_BITS + MID_BITS;
    // The weights are not negative and sum to one, so the clamp only guards the promise
    // of values in [0, 1].
    ((sum + (1 << (shift - 1))) >> shift).clamp(0, 255) as f32 / 255.0
}

/// One plane of one output row of the horizontal pass, windows `n` taps wide. Called
/// with `n` a constant where it can be, so that the tap loop is unrolled.
#[inline(always)]
fn horizontal(mid: &[i16], starts: &[usize], weights: &[i16], n: usize, out: &mut [f32]) {
    // Clamping a start to this cannot move a real window (each ends inside `src_w`) and
    // lets LLVM drop the bounds check on each window.
    let last = mid.len() - n;
    for ((o, &start), w) in out.iter_mut().zip(starts).zip(weights.chunks_exact(n)) {
        let start = start.min(last);
        let sum = mid[start..start + n].iter().zip(w).map(|(&p, &w)| i32::from(p) * i32::from(w)).sum();
        *o = to_unit(sum);
    }
}

/// The two passes written with AVX2 intrinsics, after the AVX2 kernels of
/// `fast_image_resize`.
///
/// LLVM vectorises the plain loops above, but not into these instructions: it does not
/// pair two source rows into one `pmaddwd` (16 products per instruction, against 8 in
/// the plain loop, whose lanes are 32 bits wide), and it sums each horizontal window on
/// its own (seven instructions per output) rather than eight windows at once with
/// `phaddd`. From 1080p to 416, the plain loops compiled with AVX2 took about twice as
/// long as `fast_image_resize`, these about four fifths (`BENCHMARKS.md`). They
/// compute exactly what the plain loops compute, in integers, so both give the same bits
/// (tested).
#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn weights_cover_the_source_and_sum_to_one() {
        let sizes = [
            (1920, 416),
            (1080, 234),
            (1280, 416),
            (720, 320),
            (416, 416),
            (100, 416),
            (1, 7),
            (7, 1),
            (3, 2),
            (8000, 1),
            (1000, 999),
        ];
        for (in_size, out_size) in sizes {
            let mut axis = Axis::default();
            axis.compute(in_size, out_size);
            let mut fixed = Vec::new();
            axis.quantise(&mut fixed);
            let n = axis.stride;
            assert!(n == 8 || n % 16 == 0, "{in_size}->{out_size}: stride {n}");
            assert_eq!(axis.starts.len() % BLOCK, 0);
            assert_eq!(axis.last_start, axis.starts.iter().copied().max().unwrap());
            for out in 0..axis.starts.len() {
                let (start, len) = (axis.starts[out], axis.lens[out]);
                let float = &axis.float[out * n..out * n + n];
                let fixed = &fixed[out * n..out * n + n];
                if out >= out_size {
                    // Padding for whole blocks: empty.
                    assert!(len == 0 && fixed.iter().all(|&w| w == 0), "{in_size}->{out_size}: padding {out}");
                    continue;
                }
                assert!(
                    len >= 1 && len <= n && start + len <= in_size,
                    "{in_size}->{out_size}: output {out} window {start}+{len}"
                );
                assert!(float[len..].iter().all(|&w| w == 0.0) && fixed[len..].iter().all(|&w| w == 0));
                assert!((float.iter().sum::<f32>() - 1.0).abs() < 1e-5);
                assert_eq!(
                    fixed.iter().map(|&w| i32::from(w)).sum::<i32>(),
                    1 << WEIGHT_BITS,
                    "{in_size}->{out_size}: output {out}"
                );
                assert!(fixed.iter().all(|&w| w >= 0));
                // Trimmed: no zero weight at either end of a window.
                assert!(float[0] > 0.0 && float[len - 1] > 0.0);
            }
        }
    }

    #[test]
    fn the_window_widens_with_the_downscale() {
        // A triangle of half-width `scale` source pixels: 1920 -> 416 spans about 9 or 10.
        let mut axis = Axis::default();
        axis.compute(1920, 416);
        let widest = axis.lens.iter().copied().max().unwrap();
        assert!((9..=10).contains(&widest), "widest window {widest}");
        // Upscaling blends two neighbours at most.
        axis.compute(100, 416);
        assert!(axis.lens[..416].iter().all(|&len| (1..=2).contains(&len)));
        // The same size copies: one tap of weight one.
        axis.compute(416, 416);
        assert!(axis.lens[..416].iter().all(|&len| len == 1));
    }
}

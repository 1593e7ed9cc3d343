use super::{BLOCK, MID_BITS, WEIGHT_BITS};
use std::arch::x86_64::*;

/// The vertical pass over as many 64-element chunks as fit; returns how many
/// elements it wrote, for [`super::vertical`] to finish.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn vertical(rows: &[u8], row_len: usize, weights: &[i16], out: &mut [i16]) -> usize {
    const CHUNK: usize = 64;
    let full = row_len / CHUNK * CHUNK;
    let round = _mm256_set1_epi32(1 << (WEIGHT_BITS - MID_BITS - 1));
    let zero = _mm256_setzero_si256();
    let pairs = weights.chunks_exact(2);
    let odd = pairs.remainder().first().copied();
    for (c, out) in out[..full].chunks_exact_mut(CHUNK).enumerate() {
        let at = c * CHUNK;
        let mut acc = [round; 8];
        let mut rows_pairs = rows.chunks_exact(2 * row_len);
        for (two, w) in (&mut rows_pairs).zip(pairs.clone()) {
            let (top, bottom) = two.split_at(row_len);
            // Both weights in every 32-bit lane, to pair with (top, bottom) words.
            let w = _mm256_set1_epi32(i32::from(w[0]) & 0xffff | i32::from(w[1]) << 16);
            accumulate(&top[at..at + CHUNK], &bottom[at..at + CHUNK], w, zero, &mut acc);
        }
        if let Some(w) = odd {
            let last = &rows[rows.len() - row_len..];
            let w = _mm256_set1_epi32(i32::from(w) & 0xffff);
            accumulate(&last[at..at + CHUNK], &last[at..at + CHUNK], w, zero, &mut acc);
        }
        store(&acc, out);
    }
    full
}

/// Adds `w0 * top[i] + w1 * bottom[i]` for 64 elements into `acc`, whose lanes hold
/// the elements in `unpack` order (undone by [`store`]).
#[inline]
#[target_feature(enable = "avx2")]
fn accumulate(top: &[u8], bottom: &[u8], w: __m256i, zero: __m256i, acc: &mut [__m256i; 8]) {
    for (half, (top, bottom)) in top.chunks_exact(32).zip(bottom.chunks_exact(32)).enumerate() {
        // SAFETY: each chunk is exactly 32 bytes, and unaligned loads are allowed.
        let (t, b) = unsafe { (_mm256_loadu_si256(top.as_ptr().cast()), _mm256_loadu_si256(bottom.as_ptr().cast())) };
        let lo = _mm256_unpacklo_epi8(t, b);
        let hi = _mm256_unpackhi_epi8(t, b);
        let acc = &mut acc[half * 4..half * 4 + 4];
        acc[0] = _mm256_add_epi32(acc[0], _mm256_madd_epi16(_mm256_unpacklo_epi8(lo, zero), w));
        acc[1] = _mm256_add_epi32(acc[1], _mm256_madd_epi16(_mm256_unpackhi_epi8(lo, zero), w));
        acc[2] = _mm256_add_epi32(acc[2], _mm256_madd_epi16(_mm256_unpacklo_epi8(hi, zero), w));
        acc[3] = _mm256_add_epi32(acc[3], _mm256_madd_epi16(_mm256_unpackhi_epi8(hi, zero), w));
    }
}

/// Shifts the sums down to `MID_BITS` and stores them in element order.
#[inline]
#[target_feature(enable = "avx2")]
fn store(acc: &[__m256i; 8], out: &mut [i16]) {
    for (acc, out) in acc.chunks_exact(4).zip(out.chunks_exact_mut(32)) {
        let s = |v: __m256i| _mm256_srai_epi32::<{ (WEIGHT_BITS - MID_BITS) as i32 }>(v);
        // Per 128-bit lane: elements 0-7 and 8-15 of that lane's 16.
        let a = _mm256_packs_epi32(s(acc[0]), s(acc[1]));
        let b = _mm256_packs_epi32(s(acc[2]), s(acc[3]));
        let first = _mm256_permute2x128_si256::<0x20>(a, b);
        let second = _mm256_permute2x128_si256::<0x31>(a, b);
        // SAFETY: `out` is exactly 32 elements, two 16-element stores.
        unsafe {
            _mm256_storeu_si256(out.as_mut_ptr().cast(), first);
            _mm256_storeu_si256(out.as_mut_ptr().add(16).cast(), second);
        }
    }
}

/// The horizontal pass for one plane of one row, `BLOCK` outputs at a time: a
/// `pmaddwd` per 16 taps (8 when `n` is 8), then the eight outputs' lanes summed
/// together with `phaddd`.
#[inline]
#[target_feature(enable = "avx2")]
pub(super) fn horizontal(mid: &[i16], starts: &[usize], last_start: usize, weights: &[i16], n: usize, out: &mut [f32]) {
    match n {
        8 => horizontal_n::<8>(mid, starts, last_start, weights, out),
        16 => horizontal_n::<16>(mid, starts, last_start, weights, out),
        32 => horizontal_n::<32>(mid, starts, last_start, weights, out),
        48 => horizontal_n::<48>(mid, starts, last_start, weights, out),
        _ => horizontal_n::<0>(mid, starts, last_start, weights, out),
    }
}

/// [`horizontal`] for windows of `N` taps (`0`: `weights.len() / starts.len()`);
/// `last_start` is the largest of `starts`.
#[inline]
#[target_feature(enable = "avx2")]
fn horizontal_n<const N: usize>(mid: &[i16], starts: &[usize], last_start: usize, weights: &[i16], out: &mut [f32]) {
    let n = if N == 0 { weights.len() / starts.len().max(1) } else { N };
    // `Resizer::prepare` keeps every window inside `mid`. Checked once here, that
    // lets the loop load windows without a check each, a third of its work otherwise.
    if last_start + n > mid.len() || n % 8 != 0 || weights.len() < starts.len() * n {
        super::horizontal(mid, starts, weights, n, out);
        return;
    }
    let round = _mm256_set1_epi32(1 << (WEIGHT_BITS + MID_BITS - 1));
    let (min, max) = (_mm256_setzero_si256(), _mm256_set1_epi32(255));
    let scale = _mm256_set1_ps(255.0);
    let blocks = starts.chunks_exact(BLOCK).zip(weights.chunks_exact(BLOCK * n));
    for ((starts, weights), out) in blocks.zip(out.chunks_mut(BLOCK)) {
        // SAFETY: checked above: `starts[k] + n <= last_start + n <= mid.len()`.
        let sum = |k: usize| unsafe { dot(mid.as_ptr().add(starts[k]), &weights[k * n..k * n + n]) };
        let h = |a, b| _mm256_hadd_epi32(a, b);
        let abcd = h(h(sum(0), sum(1)), h(sum(2), sum(3)));
        let efgh = h(h(sum(4), sum(5)), h(sum(6), sum(7)));
        let total = _mm256_add_epi32(
            _mm256_permute2x128_si256::<0x20>(abcd, efgh),
            _mm256_permute2x128_si256::<0x31>(abcd, efgh),
        );
        let q = _mm256_srai_epi32::<{ (WEIGHT_BITS + MID_BITS) as i32 }>(_mm256_add_epi32(total, round));
        // A division, not a multiplication by 1/255: it gives the same floats as the
        // plain loops (the product differs in the last bit for half of the values).
        let v = _mm256_div_ps(_mm256_cvtepi32_ps(_mm256_min_epi32(_mm256_max_epi32(q, min), max)), scale);
        if let Ok(out) = <&mut [f32; BLOCK]>::try_from(&mut *out) {
            // SAFETY: `out` is exactly 8 floats.
            unsafe { _mm256_storeu_ps(out.as_mut_ptr(), v) };
        } else {
            let mut tmp = [0.0f32; BLOCK];
            // SAFETY: `tmp` is exactly 8 floats.
            unsafe { _mm256_storeu_ps(tmp.as_mut_ptr(), v) };
            out.copy_from_slice(&tmp[..out.len()]);
        }
    }
}

/// `window . weights` as eight partial sums, for `weights.len()` a multiple of 8.
///
/// # Safety
/// `window` must point at `weights.len()` readable elements.
#[inline]
#[target_feature(enable = "avx2")]
unsafe fn dot(window: *const i16, weights: &[i16]) -> __m256i {
    let mut sum = _mm256_setzero_si256();
    let mut at = 0;
    for w in weights.chunks_exact(16) {
        // SAFETY: 16 elements at `at` are in both (the caller's promise for `window`).
        let (p, w) = unsafe { (_mm256_loadu_si256(window.add(at).cast()), _mm256_loadu_si256(w.as_ptr().cast())) };
        sum = _mm256_add_epi32(sum, _mm256_madd_epi16(p, w));
        at += 16;
    }
    if weights.len() - at == 8 {
        // SAFETY: exactly 8 elements remain in both.
        let (p, w) =
            unsafe { (_mm_loadu_si128(window.add(at).cast()), _mm_loadu_si128(weights[at..].as_ptr().cast())) };
        sum = _mm256_add_epi32(sum, _mm256_zextsi128_si256(_mm_madd_epi16(p, w)));
    }
    sum
}

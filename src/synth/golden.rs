//! Golden hashes of the training design family: a fixed set of clips and stills whose
//! pixels and truth must stay byte for byte as they were before the held-out family
//! was added, so training data, samples and tests made from a seed never change.

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use crate::synth::stills::Backgrounds;
    use crate::synth::{ClipConfig, Preset, StillsConfig, render_clip, render_still};

    /// FNV-1a, 64 bits: dependency-free and the same on every platform.
    fn fnv(hash: &mut u64, bytes: &[u8]) {
        for b in bytes {
            *hash ^= u64::from(*b);
            *hash = hash.wrapping_mul(0x0000_0100_0000_01B3);
        }
    }

    fn clip_hash(preset: Preset, seed: u64) -> u64 {
        let config =
            ClipConfig { preset, seed, seconds: 1.0, width: 320, height: 180, fps: 4.0, ..ClipConfig::default() };
        let mut h = 0xCBF2_9CE4_8422_2325;
        let mut timeline = render_clip(&config, |_, rgb| {
            fnv(&mut h, rgb);
            Ok(())
        })
        .unwrap();
        // The `parallel` marks came later (December 2026) and only add to the truth: the
        // hash is of everything else, which must not change.
        for b in timeline.boxes.iter_mut().flat_map(|f| f.boxes.iter_mut()) {
            b.parallel = false;
        }
        fnv(&mut h, timeline.to_json_lines().as_bytes());
        h
    }

    fn still_hash(index: u64) -> u64 {
        let config = StillsConfig { size_px: 192, ..StillsConfig::default() };
        let s = render_still(&config, &Backgrounds::default(), index).unwrap();
        let mut h = 0xCBF2_9CE4_8422_2325;
        fnv(&mut h, &s.rgb);
        fnv(&mut h, s.yolo_lines().as_bytes());
        fnv(&mut h, &[s.jpeg_quality]);
        h
    }

    /// Measured on main before the held-out family was added (commit 0c07979).
    const CLIPS: [(Preset, u64); 7] = [
        (Preset::CnDayCountdown, 0x06ef_a8ac_911c_580c),
        (Preset::Us, 0x33a6_d3ca_fd2f_ccf2),
        (Preset::Eu, 0x351c_b31e_c066_a5f7),
        (Preset::Night, 0xc224_bc57_abc3_fb57),
        (Preset::VehicleConflict, 0x3cd7_3779_5908_0f10),
        (Preset::Occlusion, 0x3e61_0902_3145_42cd),
        (Preset::Random, 0xd78a_ab80_b88c_4775),
    ];
    const STILLS: [u64; 4] =
        [0x79f0_e458_ae8c_c845, 0x7c74_7bb0_7ca4_4cef, 0x233f_66cf_5cb9_0df8, 0x2d02_8936_50af_58bd];

    #[test]
    fn train_family_clips_are_unchanged() {
        for (preset, want) in CLIPS {
            assert_eq!(clip_hash(preset, 3), want, "{} clip, seed 3, changed", preset.name());
        }
    }

    #[test]
    fn train_family_stills_are_unchanged() {
        for (i, want) in STILLS.into_iter().enumerate() {
            assert_eq!(still_hash(i as u64), want, "still {i} of seed 1 changed");
        }
    }
}

//! Training stills: a background (procedural street or a real photo) with 1-4 synthetic
//! signal heads pasted on poles, camera effects, JPEG, and YOLO labels.
//!
//! Each still is drawn from its own generator, seeded from the run seed and its index,
//! so stills can be made in parallel and any one can be remade alone.
//!
//! Real photos come with lights of their own. Their labels are read from
//! `labels/<stem>.txt` beside `images/` by [`crate::yolo`] (as `eval` reads them: a bad
//! line is an error, not skipped), remapped by the dataset's class names (`data.yaml`)
//! into our ids, carried through the crop, and kept clear of the pasted
//! heads. When a photo's labels cannot be found, only pedestrian and dark heads are
//! pasted, so no new vehicle-light class competes with the photo's unlabelled lights.

mod backgrounds;

pub use backgrounds::{Backgrounds, shipped_id_for};

use super::Designs;
use super::SynthError;
use super::canvas::Canvas;
use super::design::HeadDesign;
use super::head::{Aspect, Countdown, HeadLook, HeadStyle, Lighting, Placement};
use super::heldout;
use super::rng::Rng;
use super::scene::{SceneLight, paint_street};
use crate::geom::BBox;
use crate::signal::SHIPPED_CLASSES;
use std::path::{Path, PathBuf};

/// Settings of `safecross synth stills`.
#[derive(Debug, Clone, PartialEq)]
pub struct StillsConfig {
    /// Side of the square stills, px; default 640, range 64-4096.
    pub size_px: u32,
    /// Number of stills; default 1000.
    pub count: usize,
    /// Run seed; default 1.
    pub seed: u64,
    /// Folders of real photos (a dataset split with `images/`, or a plain folder);
    /// default none, which means procedural backgrounds only.
    pub backgrounds: Vec<PathBuf>,
    /// Share of stills on a real photo when `backgrounds` is not empty, 0-1; default 0.7.
    pub real_share: f32,
    /// Share of procedural scenes at night, 0-1; default 0.3.
    pub night_share: f32,
    /// Worker threads; default 2 (the stills are independent, output does not depend on it).
    pub jobs: usize,
    /// Design family of the heads, drawn streets and camera; default [`Designs::Train`].
    pub designs: Designs,
    /// With [`Designs::Heldout`], the pedestrian styles to draw from; default empty: all.
    pub heldout_styles: Vec<heldout::head::Style>,
}

impl Default for StillsConfig {
    fn default() -> Self {
        Self {
            size_px: 640,
            count: 1000,
            seed: 1,
            backgrounds: Vec::new(),
            real_share: 0.7,
            night_share: 0.3,
            jobs: 2,
            designs: Designs::Train,
            heldout_styles: Vec::new(),
        }
    }
}

impl StillsConfig {
    /// Checks ranges.
    ///
    /// # Errors
    /// [`SynthError::Config`] naming the field.
    pub fn validate(&self) -> Result<(), SynthError> {
        if !(64..=4096).contains(&self.size_px) {
            return Err(SynthError::Config {
                field: "size_px",
                message: format!("must be 64-4096, got {}", self.size_px),
            });
        }
        for (field, v) in [("real_share", self.real_share), ("night_share", self.night_share)] {
            if !(0.0..=1.0).contains(&v) {
                return Err(SynthError::Config { field, message: format!("must be in [0, 1], got {v}") });
            }
        }
        heldout::check_styles(self.designs, &self.heldout_styles)
    }
}

/// One labelled signal in a still.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StillLabel {
    /// Index in [`SHIPPED_CLASSES`].
    pub class_id: usize,
    /// Box in still px.
    pub bbox: BBox,
}

/// One rendered still, before JPEG encoding.
#[derive(Debug, Clone, PartialEq)]
pub struct Still {
    /// Side, px.
    pub size: u32,
    /// Packed RGB8, `size * size * 3` bytes.
    pub rgb: Vec<u8>,
    /// Every labelled signal.
    pub labels: Vec<StillLabel>,
    /// JPEG quality to save it with, 1-100.
    pub jpeg_quality: u8,
}

impl Still {
    /// YOLO label lines `cls cx cy w h`, normalised to `[0, 1]`.
    pub fn yolo_lines(&self) -> String {
        let s = self.size as f32;
        let mut out = String::new();
        for l in &self.labels {
            let (cx, cy) = l.bbox.center();
            out.push_str(&format!(
                "{} {:.6} {:.6} {:.6} {:.6}\n",
                l.class_id,
                cx / s,
                cy / s,
                l.bbox.width() / s,
                l.bbox.height() / s
            ));
        }
        out
    }
}

/// Draws a random head look. `vehicle_lit_ok` allows lit vehicle heads.
pub fn random_look(rng: &mut Rng, vehicle_lit_ok: bool) -> HeadLook {
    let pedestrian = rng.chance(0.68);
    let (style, aspect, countdown) = if pedestrian {
        let style = [HeadStyle::PedCn, HeadStyle::PedUs, HeadStyle::PedEu][rng.below(3)];
        let aspect = [Aspect::PedStop, Aspect::PedWalk, Aspect::Dark][rng.weighted(&[0.42, 0.42, 0.16])];
        let has_countdown = match style {
            HeadStyle::PedCn => rng.chance(0.6),
            HeadStyle::PedUs => rng.chance(0.7),
            _ => rng.chance(0.1),
        };
        let countdown = if !has_countdown {
            Countdown::Absent
        } else if aspect == Aspect::Dark || rng.chance(0.3) {
            Countdown::Blank
        } else {
            Countdown::Value(1 + rng.below(45) as u8)
        };
        (style, aspect, countdown)
    } else {
        let style = if rng.chance(0.7) { HeadStyle::VehicleVertical } else { HeadStyle::VehicleHorizontal };
        let aspect = if vehicle_lit_ok {
            [Aspect::VehRed, Aspect::VehYellow, Aspect::VehGreen, Aspect::Dark][rng.weighted(&[0.35, 0.15, 0.35, 0.15])]
        } else {
            Aspect::Dark
        };
        (style, aspect, Countdown::Absent)
    };
    let housing = match rng.below(4) {
        0 => [0.05, 0.05, 0.05],
        1 => [0.18, 0.18, 0.17],
        2 => [0.75, 0.62, 0.12],
        _ => [0.12, 0.22, 0.14],
    };
    HeadLook {
        style,
        aspect,
        countdown,
        led_dots: rng.chance(0.6),
        round_lens: style == HeadStyle::PedEu && rng.chance(0.6),
        housing,
        lamp_tint: [rng.range(0.9, 1.05), rng.range(0.9, 1.05), rng.range(0.9, 1.05)],
    }
}

/// Lighting for a head in a scene with `ambient` light.
pub fn random_lighting(rng: &mut Rng, night: bool, ambient: f32) -> Lighting {
    if night {
        Lighting {
            ambient: ambient * rng.range(0.6, 1.0),
            lamp_gain: rng.range(1.1, 2.0),
            glow: rng.range(0.4, 1.0),
            glow_spread: rng.range(1.4, 2.8),
        }
    } else {
        Lighting {
            ambient: ambient * rng.range(0.6, 1.0),
            lamp_gain: rng.range(0.85, 1.4),
            glow: rng.range(0.0, 0.25),
            glow_spread: rng.range(1.0, 1.6),
        }
    }
}

fn overlaps(b: &BBox, others: &[StillLabel], pad: f32) -> bool {
    others
        .iter()
        .any(|o| b.x1 - pad < o.bbox.x2 && b.x2 + pad > o.bbox.x1 && b.y1 - pad < o.bbox.y2 && b.y2 + pad > o.bbox.y1)
}

/// Renders still `index` of a run.
///
/// # Errors
/// [`SynthError::Image`] or [`SynthError::Read`] when a background photo cannot be read.
pub fn render_still(config: &StillsConfig, backgrounds: &Backgrounds, index: u64) -> Result<Still, SynthError> {
    let heldout = config.designs == Designs::Heldout;
    // The held-out family draws from a stream of its own; the training one is unchanged.
    let mut rng = Rng::for_item(config.seed ^ if heldout { 0x4E1D_0D00_0000_0000 } else { 0 }, index);
    let size = config.size_px;
    let sf = size as f32;
    let use_real = !backgrounds.is_empty() && rng.chance(config.real_share);
    let (mut canvas, mut labels, vehicle_lit_ok, night, ambient, ground_y) = if use_real {
        let (canvas, labels, complete) = backgrounds.load_random(size, &mut rng)?;
        let mean = canvas.px.iter().map(|p| (p[0] + p[1] + p[2]) / 3.0).sum::<f32>() / canvas.px.len().max(1) as f32;
        // Vehicle heads lit in our colours only where the photo's own lights are labelled.
        (canvas, labels, complete, mean < 0.2, (mean * 1.8).clamp(0.1, 1.0), sf * rng.range(0.6, 1.0))
    } else {
        let mut canvas = Canvas::new(size as usize, size as usize);
        let light = SceneLight::random(&mut rng, config.night_share);
        let kerb_y = if heldout {
            let horizon_y = sf * rng.range(0.38, 0.62);
            heldout::scene::paint_scene_at(&mut canvas, &mut rng, light, horizon_y);
            horizon_y + (sf - horizon_y) * 0.1
        } else {
            paint_street(&mut canvas, &mut rng, light).kerb_y
        };
        (canvas, Vec::new(), true, light.night, light.ambient, kerb_y.max(sf * 0.5))
    };
    let n_heads = 1 + rng.weighted(&[0.35, 0.3, 0.2, 0.15]);
    let mut planned = Vec::new();
    for _ in 0..n_heads {
        let look = if heldout {
            HeadDesign::Heldout(heldout::random_look(&mut rng, vehicle_lit_ok, &config.heldout_styles))
        } else {
            HeadDesign::Train(random_look(&mut rng, vehicle_lit_ok))
        };
        let height_px = rng.log_range(5.0, 120.0) * sf / 640.0;
        let (wu, hu) = look.size_units();
        let width_px = height_px * wu / hu;
        let squeeze = if heldout { rng.range(0.45, 1.0) } else { rng.range(0.6, 1.0) };
        let roll = rng.normal() * 0.03;
        for _ in 0..20 {
            let cx = rng.range(width_px / 2.0 + 2.0, sf - width_px / 2.0 - 2.0);
            let cy = rng.range(height_px / 2.0 + 2.0, (ground_y - height_px).max(height_px / 2.0 + 3.0));
            let at = Placement { cx, cy, height_px, squeeze, roll };
            let b = look.bbox(&at);
            if b.x1 < 0.0 || b.y1 < 0.0 || b.x2 > sf || b.y2 > sf || overlaps(&b, &labels, height_px * 0.3 + 2.0) {
                continue;
            }
            labels.push(StillLabel { class_id: look.aspect().class_id(), bbox: b });
            planned.push((look, at));
            break;
        }
    }
    // Poles first, so no pole crosses a head drawn before it.
    let pole_grey = [0.25 * ambient, 0.26 * ambient, 0.25 * ambient];
    for (look, at) in &planned {
        let b = look.bbox(at);
        let pw = (b.width() * rng.range(0.15, 0.3)).max(1.0);
        if rng.chance(0.25) {
            // Mast arm from the side.
            let y = b.y1 + b.height() * 0.1;
            let (x_from, x_to) = if rng.chance(0.5) { (0.0, b.x1) } else { (b.x2, sf) };
            canvas.fill_rect(x_from, y - pw * 0.4, x_to, y + pw * 0.4, pole_grey, 1.0);
        } else {
            let off = if rng.chance(0.5) {
                0.0
            } else {
                (b.width() / 2.0 + pw / 2.0) * if rng.chance(0.5) { -1.0 } else { 1.0 }
            };
            let x = at.cx + off;
            let bottom = if ground_y > b.y2 { ground_y + rng.range(0.0, 0.1) * sf } else { sf };
            canvas.fill_rect(x - pw / 2.0, b.y1 + b.height() * 0.2, x + pw / 2.0, bottom, pole_grey, 1.0);
        }
    }
    let mut lamps = Vec::new();
    for (look, at) in &planned {
        let light = if heldout {
            heldout::lighting(&mut rng, night, ambient)
        } else {
            random_lighting(&mut rng, night, ambient)
        };
        let b = look.render(&mut canvas, at, &light, &mut lamps);
        if look.aspect() != Aspect::Dark && look.is_led() && rng.chance(0.1) {
            canvas.roll_flicker(b.to_array(), rng.range(2.0, 8.0), rng.f32(), rng.range(0.2, 0.6));
        }
    }
    if heldout {
        let effects = heldout::camera::Effects::random(&mut rng, night);
        effects.add_flare(&mut canvas, &lamps);
        apply_camera(&mut canvas, &mut rng, night);
        effects.grade(&mut canvas);
        effects.compress(&mut canvas);
    } else {
        apply_camera(&mut canvas, &mut rng, night);
    }
    let mut rgb = Vec::new();
    canvas.to_rgb8(&mut rgb);
    labels.retain(|l| l.class_id < SHIPPED_CLASSES.len());
    let jpeg_quality = rng.range(55.0, 96.0) as u8;
    Ok(Still { size, rgb, labels, jpeg_quality })
}

/// Random camera effects: glare, rain, defocus or motion blur, exposure, noise.
fn apply_camera(canvas: &mut Canvas, rng: &mut Rng, night: bool) {
    let (w, h) = (canvas.width as f32, canvas.height as f32);
    if !night && rng.chance(0.08) {
        canvas.add_glare(rng.range(0.0, w), rng.range(-0.2, 0.4) * h, rng.range(0.05, 0.2) * w, rng.range(0.3, 0.8));
    }
    if rng.chance(0.08) {
        let drops = (w * h / 400.0 * rng.range(0.3, 1.0)) as usize;
        let (slant, bright) = (rng.range(-0.2, 0.2), rng.range(0.1, 0.3));
        canvas.add_rain(rng, drops, slant, bright);
        canvas.gaussian_blur(rng.range(0.5, 1.2));
    }
    if rng.chance(0.3) {
        canvas.gaussian_blur(rng.range(0.4, 1.3));
    } else if rng.chance(0.15) {
        let len = rng.range(1.0, 7.0) * w / 640.0;
        let a = rng.range(0.0, std::f32::consts::PI);
        canvas.motion_blur(len * a.cos(), len * a.sin());
    }
    let gain = rng.range(0.85, 1.15);
    canvas.grade(gain, 0.0, [rng.range(0.95, 1.05), 1.0, rng.range(0.95, 1.05)]);
    let noise = if night { rng.range(0.01, 0.045) } else { rng.range(0.004, 0.025) };
    canvas.add_noise(rng, noise);
}

/// What a stills run wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct StillsSummary {
    /// Stills written.
    pub images: usize,
    /// Labels written, per class id.
    pub per_class: [usize; SHIPPED_CLASSES.len()],
}

fn write_file(path: &Path, bytes: &[u8]) -> Result<(), SynthError> {
    std::fs::write(path, bytes).map_err(|source| SynthError::Write { path: path.to_path_buf(), source })
}

/// Encodes a still as JPEG.
///
/// # Errors
/// [`SynthError::Encode`] when the encoder fails.
pub fn encode_jpeg(still: &Still) -> Result<Vec<u8>, SynthError> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, still.jpeg_quality)
        .encode(&still.rgb, still.size, still.size, image::ExtendedColorType::Rgb8)
        .map_err(|e| SynthError::Encode(format!("jpeg: {e}")))?;
    Ok(out)
}

/// Writes `out/images/NNNNNN.jpg`, `out/labels/NNNNNN.txt` and `out/data.yaml`.
///
/// # Errors
/// [`SynthError`] for bad settings, unreadable backgrounds or unwritable output.
pub fn write_stills(config: &StillsConfig, out: &Path) -> Result<StillsSummary, SynthError> {
    config.validate()?;
    let backgrounds = Backgrounds::scan(&config.backgrounds)?;
    let images = out.join("images");
    let label_dir = out.join("labels");
    for d in [&images, &label_dir] {
        std::fs::create_dir_all(d).map_err(|source| SynthError::Write { path: d.clone(), source })?;
    }
    let names = SHIPPED_CLASSES.join(", ");
    write_file(
        &out.join("data.yaml"),
        format!(
            "# Synthetic stills from `safecross synth stills --seed {}`\npath: {}\ntrain: images\nval: images\nnames: [{names}]\nnc: {}\n",
            config.seed,
            out.display(),
            SHIPPED_CLASSES.len()
        )
        .as_bytes(),
    )?;
    let jobs = config.jobs.clamp(1, 64);
    let results: Vec<Result<[usize; SHIPPED_CLASSES.len()], SynthError>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..jobs)
            .map(|t| {
                let backgrounds = &backgrounds;
                let (images, label_dir) = (&images, &label_dir);
                scope.spawn(move || -> Result<[usize; SHIPPED_CLASSES.len()], SynthError> {
                    let mut per_class = [0usize; SHIPPED_CLASSES.len()];
                    let mut i = t;
                    while i < config.count {
                        let still = render_still(config, backgrounds, i as u64)?;
                        for l in &still.labels {
                            per_class[l.class_id] += 1;
                        }
                        write_file(&images.join(format!("{i:06}.jpg")), &encode_jpeg(&still)?)?;
                        write_file(&label_dir.join(format!("{i:06}.txt")), still.yolo_lines().as_bytes())?;
                        i += jobs;
                    }
                    Ok(per_class)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|_| Err(SynthError::Encode("a worker thread panicked".into()))))
            .collect()
    });
    let mut per_class = [0usize; SHIPPED_CLASSES.len()];
    for r in results {
        let counts = r?;
        for (a, b) in per_class.iter_mut().zip(counts) {
            *a += b;
        }
    }
    Ok(StillsSummary { images: config.count, per_class })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn dataset_classes_map_to_ours() {
        assert_eq!(shipped_id_for("green"), Some(2));
        assert_eq!(shipped_id_for("red"), Some(0));
        assert_eq!(shipped_id_for("yellow"), Some(1));
        assert_eq!(shipped_id_for("left"), None);
    }

    #[test]
    fn procedural_stills_are_reproducible_and_labelled_inside() {
        let config = StillsConfig { size_px: 160, ..StillsConfig::default() };
        let bg = Backgrounds::default();
        for i in 0..6 {
            let a = render_still(&config, &bg, i).unwrap();
            let b = render_still(&config, &bg, i).unwrap();
            assert_eq!(a, b);
            assert!(!a.labels.is_empty(), "still {i} has no heads");
            for l in &a.labels {
                assert!(l.bbox.x1 >= 0.0 && l.bbox.y1 >= 0.0 && l.bbox.x2 <= 160.0 && l.bbox.y2 <= 160.0);
            }
        }
    }

    #[test]
    fn heldout_stills_are_reproducible_labelled_inside_and_differ_from_training() {
        let config = StillsConfig { size_px: 160, designs: Designs::Heldout, ..StillsConfig::default() };
        let train = StillsConfig { designs: Designs::Train, ..config.clone() };
        let bg = Backgrounds::default();
        for i in 0..6 {
            let a = render_still(&config, &bg, i).unwrap();
            assert_eq!(a, render_still(&config, &bg, i).unwrap());
            assert!(!a.labels.is_empty(), "still {i} has no heads");
            for l in &a.labels {
                assert!(l.bbox.x1 >= 0.0 && l.bbox.y1 >= 0.0 && l.bbox.x2 <= 160.0 && l.bbox.y2 <= 160.0);
            }
            assert_ne!(a.rgb, render_still(&train, &bg, i).unwrap().rgb);
        }
    }
}

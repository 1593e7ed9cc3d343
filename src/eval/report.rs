//! Presenting evaluation results: terminal tables and PNG pictures.
//!
//! JSON comes from the report structs' `Serialize`; this file only draws and formats.
//!
//! Pictures (drawn with `plotters` into RGB buffers, saved as PNG):
//! - a timeline per clip: the truth band above the decision band, coloured by state
//!   (walk green, don't walk red, changing orange, unknown or no signal grey), each
//!   announced cue a black tick with a triangle, and false-go stretches as a magenta bar
//!   under the decision, so a clip's result is clear at a glance;
//! - precision-recall curves per meaning at IoU 0.5, with the operating point as a dot;
//! - a grid of the worst misses: crops around missed labels, widest first, framed in
//!   the colour of the true meaning, with an inner frame in the colour the detector saw
//!   there (black when it saw nothing).
//!
//! Text needs a font, and we do not ship one: the first of `$SAFECROSS_FONT`, DejaVu
//! Sans (Debian `fonts-dejavu-core`) or a few common system fonts is registered once.
//! Without any, the pictures are drawn without text (colours and positions still tell
//! the story), and a warning says which package adds the labels. That keeps a large
//! binary font file out of the repository and the report working on bare CI machines.

mod tables;

use tables::fmt_opt;
pub use tables::{decision_table, detection_table};

use super::EvalError;
use super::decision::{ClipReport, DecisionReport};
use super::detection::DetectionReport;
use crate::paint::Painter;
use crate::signal::{SignalMeaning, SignalState};
use crate::truth::TruthSignal;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Font files tried in order after `$SAFECROSS_FONT`.
const FONT_CANDIDATES: [&str; 6] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/System/Library/Fonts/Supplemental/Arial.ttf",
    "C:\\Windows\\Fonts\\arial.ttf",
];

/// The font family name registered with plotters.
const FAMILY: &str = "sans-serif";

/// Whether a font is registered for text in pictures (looked up once per process).
pub fn font_available() -> bool {
    static FONT: OnceLock<bool> = OnceLock::new();
    *FONT.get_or_init(|| {
        let env = std::env::var_os("SAFECROSS_FONT").map(PathBuf::from);
        for path in env.into_iter().chain(FONT_CANDIDATES.iter().map(PathBuf::from)) {
            let Ok(bytes) = std::fs::read(&path) else { continue };
            // plotters keeps fonts for the life of the process; this runs once.
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            if plotters::style::register_font(FAMILY, FontStyle::Normal, bytes).is_ok() {
                tracing::debug!("report font: {}", path.display());
                return true;
            }
        }
        tracing::warn!(
            "no font found for report text (install fonts-dejavu-core or set SAFECROSS_FONT); pictures have no labels"
        );
        false
    })
}

fn rgb(c: [u8; 3]) -> RGBColor {
    RGBColor(c[0], c[1], c[2])
}

/// Colour of a decision state.
pub fn state_colour(s: SignalState) -> [u8; 3] {
    match s {
        SignalState::Walk => [0, 170, 70],
        SignalState::DontWalk => [210, 40, 40],
        SignalState::Changing => [245, 150, 0],
        SignalState::Unknown => [160, 160, 160],
    }
}

/// Colour of a true signal (the same as the decision it should produce).
pub fn truth_colour(t: TruthSignal) -> [u8; 3] {
    match t {
        TruthSignal::Walk => state_colour(SignalState::Walk),
        TruthSignal::DontWalk => state_colour(SignalState::DontWalk),
        TruthSignal::Changing => state_colour(SignalState::Changing),
        TruthSignal::None => state_colour(SignalState::Unknown),
    }
}

/// Colour of a signal meaning.
pub fn meaning_colour(m: SignalMeaning) -> [u8; 3] {
    match m {
        SignalMeaning::VehicleRed => [220, 30, 30],
        SignalMeaning::VehicleYellow => [235, 170, 0],
        SignalMeaning::VehicleGreen => [0, 160, 60],
        SignalMeaning::PedStop => [140, 0, 60],
        SignalMeaning::PedWalk => [0, 150, 170],
        SignalMeaning::Off => [90, 90, 90],
        SignalMeaning::Crosswalk => [200, 200, 200],
        SignalMeaning::Other => [40, 80, 220],
    }
}

fn plot_err(path: &Path) -> impl Fn(String) -> EvalError + '_ {
    move |message| EvalError::Plot { path: path.to_path_buf(), message }
}

/// Draws one clip's timeline PNG.
///
/// # Errors
/// [`EvalError::Plot`] when drawing or writing the file fails.
pub fn write_clip_timeline(path: &Path, clip: &ClipReport) -> Result<(), EvalError> {
    let err = plot_err(path);
    let (w, h) = (1200u32, 230u32);
    let text = font_available();
    let root = BitMapBackend::new(path, (w, h)).into_drawing_area();
    draw_timeline(&root, clip, w, text).map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

fn draw_timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    clip: &ClipReport,
    w: u32,
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let end = clip.figures.duration_s.max(1e-6);
    let (left, right) = (90i32, w as i32 - 20);
    let x = |t: f64| left + ((t / end).clamp(0.0, 1.0) * f64::from(right - left)).round() as i32;
    let (truth_y, dec_y, band_h) = (40i32, 105i32, 50i32);
    for &(a, b, t) in &clip.bands.truth {
        root.draw(&Rectangle::new([(x(a), truth_y), (x(b), truth_y + band_h)], rgb(truth_colour(t)).filled()))?;
    }
    for &(a, b, d) in &clip.bands.decision {
        root.draw(&Rectangle::new([(x(a), dec_y), (x(b), dec_y + band_h)], rgb(state_colour(d)).filled()))?;
    }
    let magenta = RGBColor(230, 0, 200);
    for &(a, b) in &clip.bands.false_go {
        root.draw(&Rectangle::new(
            [(x(a), dec_y + band_h + 4), (x(b).max(x(a) + 2), dec_y + band_h + 14)],
            magenta.filled(),
        ))?;
    }
    for &(t, s) in &clip.bands.announcements {
        let xt = x(t);
        root.draw(&PathElement::new(vec![(xt, truth_y), (xt, dec_y + band_h)], BLACK.stroke_width(1)))?;
        root.draw(&Polygon::new(
            vec![(xt - 5, dec_y - 10), (xt + 5, dec_y - 10), (xt, dec_y - 1)],
            rgb(state_colour(s)).filled(),
        ))?;
        root.draw(&PathElement::new(
            vec![(xt - 5, dec_y - 10), (xt + 5, dec_y - 10), (xt, dec_y - 1), (xt - 5, dec_y - 10)],
            BLACK,
        ))?;
    }
    // Time axis: a tick per "nice" step so there are about ten.
    let axis_y = dec_y + band_h + 20;
    root.draw(&PathElement::new(vec![(left, axis_y), (right, axis_y)], BLACK))?;
    let step = [0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0]
        .into_iter()
        .find(|s| end / s <= 12.0)
        .unwrap_or(600.0);
    let mut t = 0.0;
    while t <= end + 1e-9 {
        root.draw(&PathElement::new(vec![(x(t), axis_y), (x(t), axis_y + 5)], BLACK))?;
        if text {
            root.draw(&Text::new(format!("{t}"), (x(t) - 6, axis_y + 8), (FAMILY, 13).into_font()))?;
        }
        t += step;
    }
    if text {
        let f = &clip.figures;
        let title = format!(
            "{}   false go {:.2} s ({} events)   missed walk {:.2} s   latency mean {} s   flaps {}   unknown {:.1} s",
            clip.clip,
            f.false_go_s,
            f.false_go_events,
            f.missed_walk_s,
            fmt_opt(f.announce_latency.mean_s, 2),
            f.flaps,
            f.unknown_s
        );
        let colour = if f.false_go_s > 0.0 { RGBColor(200, 0, 0) } else { BLACK };
        root.draw(&Text::new(title, (10, 10), (FAMILY, 15).into_font().color(&colour)))?;
        root.draw(&Text::new("truth", (10, truth_y + 17), (FAMILY, 15).into_font()))?;
        root.draw(&Text::new("decision", (10, dec_y + 17), (FAMILY, 15).into_font()))?;
        root.draw(&Text::new("time, s", (10, axis_y - 2), (FAMILY, 13).into_font()))?;
        let mut lx = left;
        let legend = [
            ("walk", state_colour(SignalState::Walk)),
            ("dont_walk", state_colour(SignalState::DontWalk)),
            ("changing", state_colour(SignalState::Changing)),
            ("unknown / no signal", state_colour(SignalState::Unknown)),
            ("false go", [230, 0, 200]),
        ];
        for (name, c) in legend {
            root.draw(&Rectangle::new([(lx, 212), (lx + 12, 224)], rgb(c).filled()))?;
            root.draw(&Text::new(name, (lx + 16, 211), (FAMILY, 13).into_font()))?;
            lx += 30 + 8 * name.len() as i32;
        }
        root.draw(&Text::new("▼ = cue announced", (lx, 211), (FAMILY, 13).into_font()))?;
    }
    Ok(())
}

/// Draws precision-recall curves (IoU 0.5) of every meaning with labels.
///
/// # Errors
/// [`EvalError::Plot`] when drawing or writing the file fails.
pub fn write_pr_curves(path: &Path, r: &DetectionReport) -> Result<(), EvalError> {
    let err = plot_err(path);
    let text = font_available();
    let root = BitMapBackend::new(path, (720, 560)).into_drawing_area();
    draw_pr(&root, r, text).map_err(|e| err(e.to_string()))?;
    root.present().map_err(|e| err(e.to_string()))
}

fn draw_pr<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &DetectionReport,
    text: bool,
) -> Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
    root.fill(&WHITE)?;
    let mut builder = ChartBuilder::on(root);
    builder.margin(15);
    if text {
        builder
            .caption(
                format!("Precision-recall at IoU 0.5 (mAP50 {:.3}, mAP50-95 {:.3})", r.map50, r.map50_95),
                (FAMILY, 18),
            )
            .x_label_area_size(40)
            .y_label_area_size(50);
    }
    let mut chart = builder.build_cartesian_2d(0f64..1f64, 0f64..1.02f64)?;
    if text {
        chart.configure_mesh().x_desc("recall").y_desc("precision").label_style((FAMILY, 13)).draw()?;
    } else {
        for k in 0..=10 {
            let v = f64::from(k) / 10.0;
            let grey = RGBColor(220, 220, 220);
            chart.draw_series(std::iter::once(PathElement::new(vec![(v, 0.0), (v, 1.0)], grey)))?;
            chart.draw_series(std::iter::once(PathElement::new(vec![(0.0, v), (1.0, v)], grey)))?;
        }
    }
    for curve in &r.pr_curves {
        let colour = rgb(meaning_colour(curve.meaning));
        let pts: Vec<(f64, f64)> = curve.precision.iter().enumerate().map(|(k, &p)| (k as f64 * 0.01, p)).collect();
        let ap = r.classes.iter().find(|c| c.meaning == curve.meaning).map_or(0.0, |c| c.ap50);
        let series = chart.draw_series(LineSeries::new(pts, colour.stroke_width(2)))?;
        if text {
            series
                .label(format!("{} AP50 {:.3}", curve.meaning, ap))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2)));
        }
        chart.draw_series(std::iter::once(Circle::new(curve.operating_point, 6, colour.filled())))?;
    }
    if text {
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FAMILY, 13))
            .draw()?;
    }
    Ok(())
}

/// Draws a grid of the `max` worst misses: crops around each missed label (widest
/// first). `images` are the image paths in the order they were added to the evaluator.
/// Returns how many crops were drawn (0 writes no file).
///
/// # Errors
/// [`EvalError::Image`] when an image cannot be decoded, [`EvalError::Plot`] when the
/// PNG cannot be written.
pub fn write_miss_grid(path: &Path, r: &DetectionReport, images: &[PathBuf], max: usize) -> Result<usize, EvalError> {
    const TILE: u32 = 150;
    const CAPTION: u32 = 18;
    const COLS: u32 = 6;
    let misses: Vec<_> = r.misses.iter().filter(|m| m.image < images.len()).take(max).collect();
    if misses.is_empty() {
        return Ok(0);
    }
    let rows = (misses.len() as u32).div_ceil(COLS);
    let (gw, gh) = (COLS * TILE, rows * (TILE + CAPTION));
    let mut grid = image::RgbImage::from_pixel(gw, gh, image::Rgb([255, 255, 255]));
    let mut cache: Option<(usize, image::RgbImage)> = None;
    for (k, m) in misses.iter().enumerate() {
        if cache.as_ref().is_none_or(|(i, _)| *i != m.image) {
            let p = &images[m.image];
            let img = image::open(p).map_err(|e| EvalError::Image { path: p.clone(), message: e.to_string() })?;
            cache = Some((m.image, img.to_rgb8()));
        }
        let Some((_, img)) = cache.as_ref() else { continue };
        let b = m.label.bbox;
        // A margin of half the box (at least 12 px) shows the light's surroundings.
        let margin = (b.width().max(b.height()) * 0.5).max(12.0);
        let x0 = (b.x1 - margin).max(0.0) as u32;
        let y0 = (b.y1 - margin).max(0.0) as u32;
        let x1 = ((b.x2 + margin) as u32).min(img.width());
        let y1 = ((b.y2 + margin) as u32).min(img.height());
        if x1 <= x0 || y1 <= y0 {
            continue;
        }
        let crop = image::imageops::crop_imm(img, x0, y0, x1 - x0, y1 - y0).to_image();
        let scale = (f64::from(TILE - 8) / f64::from(crop.width().max(crop.height()))).min(8.0);
        let (cw, ch) =
            (((f64::from(crop.width()) * scale) as u32).max(1), ((f64::from(crop.height()) * scale) as u32).max(1));
        let filter =
            if scale > 1.0 { image::imageops::FilterType::Nearest } else { image::imageops::FilterType::Triangle };
        let tile = image::imageops::resize(&crop, cw, ch, filter);
        let (tx, ty) = ((k as u32 % COLS) * TILE, (k as u32 / COLS) * (TILE + CAPTION));
        let truth = meaning_colour(m.label.meaning);
        let seen = m.seen_as.map_or([0, 0, 0], |(s, _)| meaning_colour(s));
        let mut paint = Painter::new(&mut grid, gw, gh);
        let (x, y, side) = (i64::from(tx), i64::from(ty), i64::from(TILE));
        paint.fill(x, y, side, side, truth);
        paint.fill(x + 2, y + 2, side - 4, side - 4, seen);
        paint.fill(x + 4, y + 4, side - 8, side - 8, [255, 255, 255]);
        let (ox, oy) = (tx + 4 + (TILE - 8 - cw) / 2, ty + 4 + (TILE - 8 - ch) / 2);
        image::imageops::replace(&mut grid, &tile, i64::from(ox), i64::from(oy));
    }
    if font_available() {
        let mut buf = grid.into_raw();
        {
            let root = BitMapBackend::with_buffer(&mut buf, (gw, gh)).into_drawing_area();
            for (k, m) in misses.iter().enumerate() {
                let (tx, ty) = ((k as u32 % COLS) * TILE, (k as u32 / COLS) * (TILE + CAPTION) + TILE);
                let seen = m
                    .seen_as
                    .map_or_else(|| "not found".to_string(), |(s, score)| format!("as {} {score:.2}", short(s)));
                let caption = format!("{} {:.0} px, {}", short(m.label.meaning), m.label.bbox.width(), seen);
                root.draw(&Text::new(caption, (tx as i32 + 2, ty as i32 + 2), (FAMILY, 11).into_font()))
                    .map_err(|e| EvalError::Plot { path: path.to_path_buf(), message: e.to_string() })?;
            }
            root.present().map_err(|e| EvalError::Plot { path: path.to_path_buf(), message: e.to_string() })?;
        }
        grid = image::RgbImage::from_raw(gw, gh, buf)
            .ok_or_else(|| EvalError::Plot { path: path.to_path_buf(), message: "grid buffer size changed".into() })?;
    }
    grid.save(path).map_err(|e| EvalError::Plot { path: path.to_path_buf(), message: e.to_string() })?;
    Ok(misses.len())
}

fn short(m: SignalMeaning) -> &'static str {
    match m {
        SignalMeaning::VehicleRed => "red",
        SignalMeaning::VehicleYellow => "yellow",
        SignalMeaning::VehicleGreen => "green",
        SignalMeaning::PedStop => "ped_stop",
        SignalMeaning::PedWalk => "ped_walk",
        SignalMeaning::Off => "off",
        SignalMeaning::Crosswalk => "crosswalk",
        SignalMeaning::Other => "other",
    }
}

/// Writes the decision pictures (one timeline per clip) into `dir`, creating it.
/// Returns the files written.
///
/// # Errors
/// [`EvalError::Io`] when the folder cannot be created, [`EvalError::Plot`] otherwise.
pub fn write_decision_report(dir: &Path, r: &DecisionReport) -> Result<Vec<PathBuf>, EvalError> {
    std::fs::create_dir_all(dir).map_err(|source| EvalError::Io { path: dir.to_path_buf(), source })?;
    let mut files = Vec::with_capacity(r.clips.len());
    for c in &r.clips {
        let safe: String =
            c.clip.chars().map(|ch| if ch.is_ascii_alphanumeric() || "-_.".contains(ch) { ch } else { '_' }).collect();
        let path = dir.join(format!("timeline-{safe}.png"));
        write_clip_timeline(&path, c)?;
        files.push(path);
    }
    Ok(files)
}

/// Writes the detection pictures (`pr-curve.png`, `worst-misses.png`) into `dir`,
/// creating it. Returns the files written.
///
/// # Errors
/// As [`write_pr_curves`] and [`write_miss_grid`].
pub fn write_detection_report(dir: &Path, r: &DetectionReport, images: &[PathBuf]) -> Result<Vec<PathBuf>, EvalError> {
    std::fs::create_dir_all(dir).map_err(|source| EvalError::Io { path: dir.to_path_buf(), source })?;
    let pr = dir.join("pr-curve.png");
    write_pr_curves(&pr, r)?;
    let mut files = vec![pr];
    let grid = dir.join("worst-misses.png");
    if write_miss_grid(&grid, r, images, 36)? > 0 {
        files.push(grid);
    }
    Ok(files)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::eval::decision::{ClipDecisions, DecisionEvaluator, DecisionSample};
    use crate::truth::{ClipSource, Segment, Timeline};

    #[test]
    fn timeline_png_shows_truth_and_decision_bands() {
        let timeline = Timeline {
            version: 1,
            fps: 10.0,
            duration_s: 10.0,
            source: ClipSource::Recorded { description: String::new() },
            segments: vec![
                Segment { start_s: 0.0, end_s: 5.0, signal: TruthSignal::DontWalk },
                Segment { start_s: 5.0, end_s: 10.0, signal: TruthSignal::Walk },
            ],
            boxes: Vec::new(),
        };
        let samples = (0..100)
            .map(|k| {
                let t = f64::from(k) * 0.1;
                let state = if t < 6.0 { SignalState::DontWalk } else { SignalState::Walk };
                DecisionSample { t_s: t, state, announced: k == 0 || k == 60, spoken: k == 0 }
            })
            .collect();
        let run = ClipDecisions {
            name: "a b/c".into(),
            duration_s: 10.0,
            fps: 10.0,
            frames: 100,
            samples,
            heads: Default::default(),
        };
        let mut ev = DecisionEvaluator::new();
        ev.add_clip(&timeline, "t.json", &run).unwrap();
        let report = ev.finish();
        let dir = std::env::temp_dir().join(format!("safecross-report-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let files = write_decision_report(&dir, &report).unwrap();
        assert_eq!(files.len(), 1);
        assert!(files[0].ends_with("timeline-a_b_c.png"), "{files:?}");
        let img = image::open(&files[0]).unwrap().to_rgb8();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 230));
        // Left quarter: truth and decision both red; at 5.5 s truth green, decision red.
        let x = |t: f64| (90.0 + t / 10.0 * 1090.0) as u32;
        assert_eq!(img.get_pixel(x(2.0), 60).0, state_colour(SignalState::DontWalk));
        assert_eq!(img.get_pixel(x(2.0), 125).0, state_colour(SignalState::DontWalk));
        assert_eq!(img.get_pixel(x(5.5), 60).0, state_colour(SignalState::Walk));
        assert_eq!(img.get_pixel(x(5.5), 125).0, state_colour(SignalState::DontWalk));
        assert_eq!(img.get_pixel(x(8.0), 125).0, state_colour(SignalState::Walk));
        assert!(decision_table(&report).contains("OVERALL"));
    }
}

//! The terminal tables of `safecross eval`: every figure of a report, one row per
//! meaning or clip. The README's "Measuring quality" explains each column.

use crate::eval::decision::{DecisionFigures, DecisionReport};
use crate::eval::detection::DetectionReport;
use std::fmt::Write as _;

/// `v` with `digits` decimals, or `-` when there is none.
pub(super) fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_string(), |x| format!("{x:.digits$}"))
}

/// The detection report as a terminal table.
pub fn detection_table(r: &DetectionReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "Detection: {} images ({} without label file, counted as no lights), {} signal labels, {} detections at conf >= {}",
        r.images, r.images_without_labels, r.labels, r.detections, r.conf_threshold
    );
    if r.non_signal_labels > 0 {
        let _ = writeln!(
            s,
            "  {} labels that are not signals (crosswalk, other) are left out of the figures below; the table lists them",
            r.non_signal_labels
        );
    }
    let _ = writeln!(
        s,
        "  mAP50 {:.3}   mAP50-95 {:.3}   precision {:.3}   recall {:.3}   recall_any {}   state_accuracy {} (of {})",
        r.map50,
        r.map50_95,
        r.precision,
        r.recall,
        fmt_opt(r.recall_any, 3),
        fmt_opt(r.state_accuracy, 3),
        r.state_accuracy_detections
    );
    let p = &r.pedestrian;
    if p.labels > 0 || p.false_walk > 0 {
        let _ = writeln!(
            s,
            "  pedestrian heads: {} labels   found {}   state right {}   stop read as walk {}   false walk {} ({:.3} per image)",
            p.labels,
            fmt_opt(p.recall_any, 3),
            fmt_opt(p.state_accuracy, 3),
            p.stop_read_as_walk,
            p.false_walk,
            p.false_walk_per_image
        );
    }
    if let Some(c) = &r.crosswalk {
        let _ = writeln!(
            s,
            "  crosswalks (not signals): {} labels   AP50 {:.3}   recall {:.3}",
            c.labels, c.ap50, c.recall
        );
    }
    let _ = writeln!(
        s,
        "\n  {:<16}{:>8}{:>8}{:>8}{:>8}{:>8}{:>9}",
        "meaning", "labels", "dets", "P", "R", "AP50", "AP50-95"
    );
    for c in &r.classes {
        let _ = writeln!(
            s,
            "  {:<16}{:>8}{:>8}{:>8.3}{:>8.3}{:>8.3}{:>9.3}",
            c.meaning.as_str(),
            c.labels,
            c.detections,
            c.precision,
            c.recall,
            c.ap50,
            c.ap50_95
        );
    }
    let width = r.confusion.labels.iter().map(String::len).max().unwrap_or(10).max(6) + 2;
    let _ = writeln!(s, "\n  Confusion (rows: truth, columns: predicted)");
    let _ = write!(s, "  {:<width$}", "");
    for l in &r.confusion.labels {
        let _ = write!(s, "{l:>width$}");
    }
    let _ = writeln!(s);
    for (l, row) in r.confusion.labels.iter().zip(&r.confusion.counts) {
        let _ = write!(s, "  {l:<width$}");
        for c in row {
            let _ = write!(s, "{c:>width$}");
        }
        let _ = writeln!(s);
    }
    let _ = writeln!(s, "\n  Recall by label width (source px)");
    for b in &r.by_size {
        let range = match b.max_width_px {
            Some(hi) => format!("[{}, {}) px", b.min_width_px, hi),
            None => format!(">= {} px", b.min_width_px),
        };
        let _ = writeln!(
            s,
            "  {:<8}{:<14}{:>6} labels   recall {:>6}   recall_any {:>6}",
            b.name,
            range,
            b.labels,
            fmt_opt(b.recall, 3),
            fmt_opt(b.recall_any, 3)
        );
    }
    let _ = writeln!(s, "  missed at the operating point: {}", r.missed);
    s
}

fn decision_row(s: &mut String, name: &str, f: &DecisionFigures) {
    let lat = &f.announce_latency;
    let _ = writeln!(
        s,
        "{:<24}{:>7.1}{:>12.2}{:>8}{:>10.2}{:>15.2}{:>6}{:>22}{:>12}{:>11.2}{:>13}{:>11.2}{:>11}",
        name,
        f.duration_s,
        f.false_go_s,
        f.false_go_events,
        f.go_during_changing_s,
        f.missed_walk_s,
        fmt_opt(f.missed_walk_fraction.map(|x| x * 100.0), 0) + "%",
        format!("{}/{}/{}", fmt_opt(lat.mean_s, 2), fmt_opt(lat.p95_s, 2), fmt_opt(lat.max_s, 2)),
        format!("{}/{}", f.missed_changes, f.true_changes),
        f.flaps_per_min,
        format!("{:.1}/{:.1}", f.spoken_per_min, f.spoken_per_min_steady_max),
        f.unknown_s,
        format!("{}/{}", f.frames_processed, f.frames),
    );
}

/// The decision report as a terminal table, one row per clip and one overall.
pub fn decision_table(r: &DecisionReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<24}{:>7}{:>12}{:>8}{:>10}{:>15}{:>6}{:>22}{:>12}{:>11}{:>13}{:>11}{:>11}",
        "clip",
        "dur_s",
        "false_go_s",
        "events",
        "go_chg_s",
        "missed_walk_s",
        "%",
        "latency mean/p95/max",
        "missed_chg",
        "flaps/min",
        "spoken/min",
        "unknown_s",
        "frames"
    );
    for c in &r.clips {
        let name: String = c.clip.chars().take(23).collect();
        decision_row(&mut s, &name, &c.figures);
    }
    decision_row(&mut s, "OVERALL", &r.overall);
    let u = &r.overall.unknown_by_truth;
    let _ = writeln!(
        s,
        "unknown while truth was: walk {:.2} s, dont_walk {:.2} s, changing {:.2} s, no signal {:.2} s",
        u.walk_s, u.dont_walk_s, u.changing_s, u.none_s
    );
    let _ = writeln!(
        s,
        "go while no signal visible: {:.2} s; first matching decision after clip start: mean {} s",
        r.overall.go_without_signal_s,
        fmt_opt(r.overall.first_match.mean_s, 2)
    );
    let _ = writeln!(
        s,
        "longest walk in one changing phase: {:.2} s; spoken: {} messages, {:.1}/min, {:.1}/min where the truth holds (worst stretch {:.1}/min)",
        r.overall.go_during_changing_max_s,
        r.overall.spoken,
        r.overall.spoken_per_min,
        r.overall.spoken_per_min_steady,
        r.overall.spoken_per_min_steady_max
    );
    let h = &r.overall.ped_heads;
    if h.counts.visible_frames > 0 {
        let _ = writeln!(
            s,
            "pedestrian head, per frame: visible in {} frames, found in {}, stop/walk told apart in {} ({}), state right when found {}",
            h.counts.visible_frames,
            h.counts.detected_frames,
            h.counts.right_state_frames,
            fmt_opt(h.told_apart, 3),
            fmt_opt(h.state_accuracy, 3)
        );
    }
    s
}

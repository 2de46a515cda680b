//! Charts for design reviews, each written as SVG (built here as plain text, so the bytes are
//! deterministic) and as PNG (the SVG rendered by resvg).
//!
//! | file | what it shows | made by |
//! |---|---|---|
//! | `lock_timeline` | each queue's lock holder; gaps; two believers | [`lock_timeline_chart`] |
//! | `queue_depth` | queue and scheduled-set size, with faults | [`queue_depth_chart`] |
//! | `retry_lateness` | CDF of interval-retry lateness | [`retry_lateness_chart`] |
//! | `outcomes` | jobs per outcome | [`outcomes_chart`] |
pub mod axis;
pub mod lateness_cdf;
pub mod lock_timeline;
pub mod outcomes;
pub mod png;
pub mod queue_depth;
pub mod svg;

pub use lateness_cdf::{retry_lateness_chart, retry_lateness_svg};
pub use lock_timeline::{lock_timeline_chart, lock_timeline_svg};
pub use outcomes::{outcomes_chart, outcomes_svg};
pub use queue_depth::{queue_depth_chart, queue_depth_svg};

use crate::report::output_dir::{OutputDir, ReportError};

/// Series colours (colour-blind friendly, distinct in grey scale too).
pub const PALETTE: [&str; 8] = [
    "#4e79a7", "#f28e2b", "#59a14f", "#b07aa1", "#76b7b2", "#edc948", "#9c755f", "#ff9da7",
];

/// The colour that marks trouble: two schedulers, faults, failures.
pub const ALERT_RED: &str = "#d62728";

/// Writes `<name>.svg` and `<name>.png` into `dir`, each via a temporary file.
pub fn write_chart(dir: &OutputDir, name: &str, svg: &str) -> Result<(), ReportError> {
    dir.write_bytes(&format!("{name}.svg"), svg.as_bytes())?;
    let png_name = format!("{name}.png");
    let png = png::render_png(svg).map_err(|reason| ReportError::Render {
        path: dir.file(&png_name),
        reason,
    })?;
    dir.write_bytes(&png_name, &png)
}

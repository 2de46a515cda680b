//! Charts for design reviews, drawn with `plotters` into its SVG backend (integer pixel
//! coordinates, no font files read, so the bytes are deterministic) and rendered to PNG by
//! resvg.
//!
//! | file | what it shows | made by |
//! |---|---|---|
//! | `lock_timeline` | each queue's lock holder; gaps; two believers | [`lock_timeline_chart`] |
//! | `queue_depth` | queue and scheduled-set size, with faults | [`queue_depth_chart`] |
//! | `retry_lateness` | CDF of interval-retry lateness | [`retry_lateness_chart`] |
//! | `outcomes` | jobs per outcome | [`outcomes_chart`] |
//!
//! [`frame`] holds what the charts share: the document, titles, legends, fonts and time axes.
pub mod frame;
pub mod lateness_cdf;
pub mod lock_timeline;
pub mod outcomes;
pub mod png;
pub mod queue_depth;

pub use lateness_cdf::{retry_lateness_chart, retry_lateness_svg};
pub use lock_timeline::{lock_timeline_chart, lock_timeline_svg};
pub use outcomes::{outcomes_chart, outcomes_svg};
pub use queue_depth::{queue_depth_chart, queue_depth_svg};

use plotters::style::RGBColor;

use crate::report::output_dir::{OutputDir, ReportError};

/// Series colours (colour-blind friendly, distinct in grey scale too).
pub const PALETTE: [RGBColor; 8] = [
    RGBColor(0x4e, 0x79, 0xa7),
    RGBColor(0xf2, 0x8e, 0x2b),
    RGBColor(0x59, 0xa1, 0x4f),
    RGBColor(0xb0, 0x7a, 0xa1),
    RGBColor(0x76, 0xb7, 0xb2),
    RGBColor(0xed, 0xc9, 0x48),
    RGBColor(0x9c, 0x75, 0x5f),
    RGBColor(0xff, 0x9d, 0xa7),
];

/// The colour that marks trouble: two schedulers, faults, failures.
pub const ALERT_RED: RGBColor = RGBColor(0xd6, 0x27, 0x28);

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

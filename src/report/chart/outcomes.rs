//! Jobs per outcome at the end of the run, as bars with their counts.

use crate::report::chart::axis::{self, count_axis, Area, Scale};
use crate::report::chart::svg::{Anchor, Svg, TextStyle};
use crate::report::chart::write_chart;
use crate::report::jobs::{Outcome, OutcomeCounts};
use crate::report::output_dir::{OutputDir, ReportError};

/// The file name, without extension.
pub const OUTCOMES: &str = "outcomes";

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 420.0;

/// Writes `outcomes.svg` and `.png`.
pub fn outcomes_chart(dir: &OutputDir, counts: &OutcomeCounts) -> Result<(), ReportError> {
    write_chart(dir, OUTCOMES, &outcomes_svg(counts))
}

fn color(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Finished => "#59a14f",
        Outcome::Failed => "#e15759",
        Outcome::Queued => "#4e79a7",
        Outcome::Scheduled => "#b07aa1",
        Outcome::Started => "#f28e2b",
        Outcome::Lost => "#7f1d1d",
        Outcome::Deferred => "#9c755f",
        Outcome::Canceled => "#9c755f",
        Outcome::Deleted => "#bab0ac",
    }
}

/// The bars drawn: every outcome, but `deferred`, `canceled` and `deleted` only when a job
/// ended so (see [`Outcome::always_shown`]).
fn charted(counts: &OutcomeCounts) -> Vec<Outcome> {
    Outcome::ALL
        .into_iter()
        .filter(|&outcome| outcome.always_shown() || counts.get(outcome) > 0)
        .collect()
}

/// The chart as an SVG document.
pub fn outcomes_svg(counts: &OutcomeCounts) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    let outcomes = charted(counts);
    let total: u64 = outcomes.iter().map(|&o| counts.get(o)).sum();
    let mut subtitle =
        format!("{total} jobs. Queued, scheduled and started: still in flight when the run ended.");
    if counts.deferred > 0 {
        subtitle.push_str(" Deferred: never released by a parent.");
    }
    axis::title(&mut svg, 24.0, "Job outcomes", &subtitle);
    let area = Area {
        left: 80.0,
        top: 70.0,
        right: WIDTH - 28.0,
        bottom: HEIGHT - 48.0,
    };
    let largest = outcomes.iter().map(|&o| counts.get(o)).max().unwrap_or(0);
    let (y_max, y_step, y_ticks) = count_axis(largest as f64);
    let y = Scale::new((0.0, y_max), (area.bottom, area.top));
    axis::y_axis(&mut svg, area, y, &y_ticks, y_step, "jobs");
    let slot = area.width() / outcomes.len() as f64;
    let bar_width = slot * 0.6;
    let label_style = TextStyle::new(12.0, Anchor::Middle).fill("#333333");
    let count_style = TextStyle::new(12.0, Anchor::Middle).bold().fill("#222222");
    for (index, outcome) in outcomes.into_iter().enumerate() {
        let count = counts.get(outcome);
        let middle = area.left + slot * (index as f64 + 0.5);
        // A non-zero count stays visible beside a large one.
        let height = match count {
            0 => 0.0,
            _ => (area.bottom - y.map(count as f64)).max(3.0),
        };
        let top = area.bottom - height;
        let (left, fill) = (middle - bar_width / 2.0, color(outcome));
        svg.rect(left, top, bar_width, height, fill, "");
        svg.text(middle, top - 6.0, &count_label(count, total), count_style);
        svg.text(middle, area.bottom + 18.0, outcome.name(), label_style);
    }
    svg.line(
        (area.left, area.bottom),
        (area.right, area.bottom),
        axis::AXIS_COLOR,
        1.0,
        "",
    );
    svg.finish()
}

/// `96412 (98.7%)`; shares under 0.1 % get two decimals, and tiny ones read `<0.01%`.
fn count_label(count: u64, total: u64) -> String {
    if total == 0 {
        return count.to_string();
    }
    let percent = count as f64 * 100.0 / total as f64;
    if percent == 0.0 || percent >= 0.1 {
        format!("{count} ({percent:.1}%)")
    } else if percent >= 0.01 {
        format!("{count} ({percent:.2}%)")
    } else {
        format!("{count} (<0.01%)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_shares_stay_readable_and_never_read_as_zero() {
        assert_eq!(count_label(96_412, 97_669), "96412 (98.7%)");
        assert_eq!(count_label(23, 97_669), "23 (0.02%)");
        assert_eq!(count_label(2, 97_669), "2 (<0.01%)");
        assert_eq!(count_label(0, 97_669), "0 (0.0%)");
    }
}

//! Jobs per outcome at the end of the run, as bars with their counts.

use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::report::chart::frame::{self, FixedTicks, Root, AXIS_COLOR, GRID_COLOR, TEXT_COLOR};
use crate::report::chart::write_chart;
use crate::report::jobs::{Outcome, OutcomeCounts};
use crate::report::output_dir::{OutputDir, ReportError};

/// The file name, without extension.
pub const OUTCOMES: &str = "outcomes";

const WIDTH: u32 = 720;
const HEIGHT: u32 = 420;

/// Writes `outcomes.svg` and `.png`.
pub fn outcomes_chart(dir: &OutputDir, counts: &OutcomeCounts) -> Result<(), ReportError> {
    write_chart(dir, OUTCOMES, &outcomes_svg(counts))
}

fn color(outcome: Outcome) -> RGBColor {
    match outcome {
        Outcome::Finished => RGBColor(0x59, 0xa1, 0x4f),
        Outcome::Failed => RGBColor(0xe1, 0x57, 0x59),
        Outcome::Queued => RGBColor(0x4e, 0x79, 0xa7),
        Outcome::Scheduled => RGBColor(0xb0, 0x7a, 0xa1),
        Outcome::Started => RGBColor(0xf2, 0x8e, 0x2b),
        Outcome::Lost => RGBColor(0x7f, 0x1d, 0x1d),
        Outcome::Deferred => RGBColor(0x9c, 0x75, 0x5f),
        Outcome::Canceled => RGBColor(0x9c, 0x75, 0x5f),
        Outcome::Deleted => RGBColor(0xba, 0xb0, 0xac),
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
    frame::svg_document(WIDTH, HEIGHT, |root| draw(root, counts))
}

fn draw(root: &Root<'_>, counts: &OutcomeCounts) -> frame::Drawn {
    let outcomes = charted(counts);
    let total: u64 = outcomes.iter().map(|&o| counts.get(o)).sum();
    let mut subtitle =
        format!("{total} jobs. Queued, scheduled and started: still in flight when the run ended.");
    if counts.deferred > 0 {
        subtitle.push_str(" Deferred: never released by a parent.");
    }
    frame::title(root, 24, "Job outcomes", &subtitle)?;
    let largest = outcomes.iter().map(|&o| counts.get(o)).max().unwrap_or(0);
    let top = frame::count_top(largest as f64);
    // Bars sit at 0, 1, 2, …; the key points put one label under each.
    let slots = outcomes.len() as f64;
    let centres: Vec<f64> = (0..outcomes.len()).map(|i| i as f64).collect();
    let x_range = FixedTicks::new(-0.5..slots - 0.5, centres);
    let mut chart = ChartBuilder::on(root)
        .margin_top(60)
        .margin_right(28)
        .margin_bottom(8)
        .margin_left(16)
        .x_label_area_size(30)
        .y_label_area_size(72)
        .build_cartesian_2d(x_range, 0.0..top)?;
    let name = |x: &f64| {
        let index = x.round().max(0.0) as usize;
        outcomes
            .get(index)
            .map_or(String::new(), |o| o.name().to_string())
    };
    chart
        .configure_mesh()
        .disable_x_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .axis_style(AXIS_COLOR)
        .x_label_formatter(&name)
        .y_label_formatter(&|y| frame::num(*y))
        .x_label_style(frame::font(12.0, TEXT_COLOR, HPos::Center, VPos::Top))
        .y_label_style(frame::y_tick_font())
        .y_desc("jobs")
        .axis_desc_style(frame::axis_title_font())
        .draw()?;
    draw_bars(&mut chart, &outcomes, counts, top)
}

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<FixedTicks, RangedCoordf64>>;

/// A bar per outcome with its count and share above it.
fn draw_bars(
    chart: &mut Chart<'_, '_>,
    outcomes: &[Outcome],
    counts: &OutcomeCounts,
    top: f64,
) -> frame::Drawn {
    let total: u64 = outcomes.iter().map(|&o| counts.get(o)).sum();
    // A non-zero count stays visible beside a large one: at least 1 % of the axis.
    let height = |count: u64| match count {
        0 => 0.0,
        _ => (count as f64).max(top / 100.0),
    };
    chart.draw_series(outcomes.iter().enumerate().map(|(i, &outcome)| {
        let x = i as f64;
        let corners = [(x - 0.3, 0.0), (x + 0.3, height(counts.get(outcome)))];
        Rectangle::new(corners, color(outcome).filled())
    }))?;
    let count_style = frame::bold(frame::font(
        12.0,
        RGBColor(0x22, 0x22, 0x22),
        HPos::Center,
        VPos::Bottom,
    ));
    chart.draw_series(outcomes.iter().enumerate().map(|(i, &outcome)| {
        let count = counts.get(outcome);
        // Anchored at the bar's top, raised 5 px above it.
        let label = Text::new(count_label(count, total), (0, -5), count_style.clone());
        EmptyElement::at((i as f64, height(count))) + label
    }))?;
    Ok(())
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

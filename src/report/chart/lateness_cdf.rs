//! The cumulative distribution of interval-retry lateness (start − (failure + interval)),
//! from the histogram, with p50, p99 and the maximum marked.

use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::report::chart::frame::{
    self, duration_label, FixedTicks, Root, AXIS_COLOR, GREY, GRID_COLOR,
};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::histogram::LogHistogram;
use crate::report::output_dir::{OutputDir, ReportError};

/// The file name, without extension.
pub const RETRY_LATENESS: &str = "retry_lateness";

const WIDTH: u32 = 960;
const HEIGHT: u32 = 460;

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<FixedTicks, RangedCoordf64>>;

/// Writes `retry_lateness.svg` and `.png`.
pub fn retry_lateness_chart(dir: &OutputDir, lateness: &LogHistogram) -> Result<(), ReportError> {
    write_chart(dir, RETRY_LATENESS, &retry_lateness_svg(lateness))
}

/// The chart as an SVG document.
pub fn retry_lateness_svg(lateness: &LogHistogram) -> String {
    frame::svg_document(WIDTH, HEIGHT, |root| draw(root, lateness))
}

fn draw(root: &Root<'_>, lateness: &LogHistogram) -> frame::Drawn {
    let subtitle = format!(
        "Share of interval retries that started at most x seconds after they were due \
         ({} retries).",
        lateness.count()
    );
    frame::title(root, 24, "Retry lateness (CDF)", &subtitle)?;
    let (low_s, high_s) = domain_s(lateness);
    // The x axis is linear in symlog(seconds); its key points are the decades, labelled in
    // seconds.
    let ticks: Vec<f64> = TICK_VALUES_S
        .iter()
        .filter(|&&t| t >= low_s && t <= high_s)
        .map(|&t| symlog(t))
        .collect();
    let x_range = FixedTicks::new(symlog(low_s)..symlog(high_s), ticks);
    let mut chart = ChartBuilder::on(root)
        .margin_top(60)
        .margin_right(36)
        .margin_bottom(8)
        .margin_left(16)
        .x_label_area_size(48)
        .y_label_area_size(56)
        .build_cartesian_2d(x_range, 0.0..100.0)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .axis_style(AXIS_COLOR)
        .y_labels(6)
        .x_label_formatter(&|x| frame::num(seconds(*x)))
        .y_label_formatter(&|y| frame::num(*y))
        .label_style(frame::tick_font())
        .y_label_style(frame::y_tick_font())
        .x_desc("lateness (s; logarithmic beyond ±0.1 s)")
        .y_desc("retries (%)")
        .axis_desc_style(frame::axis_title_font())
        .draw()?;
    if lateness.is_empty() {
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let middle = ((xs.start + xs.end) / 2, (ys.start + ys.end) / 2);
        let style = frame::font(13.0, GREY, HPos::Center, VPos::Center);
        return frame::text(
            root,
            middle,
            "no interval retry started in this run",
            &style,
        );
    }
    let line = PALETTE[0].stroke_width(2);
    chart.draw_series(LineSeries::new(step_points(lateness), line))?;
    mark_quantiles(root, &chart, lateness)
}

/// Decades of seconds that can be ticks; the domain runs between two of them.
const TICK_VALUES_S: [f64; 15] = [
    -10_000.0,
    -1_000.0,
    -100.0,
    -10.0,
    -1.0,
    -0.1,
    0.0,
    0.1,
    1.0,
    10.0,
    100.0,
    1_000.0,
    10_000.0,
    100_000.0,
    1_000_000.0,
];

/// Within ±0.1 s the axis is linear, beyond it logarithmic, so that a body of on-time retries
/// (within the scheduler's 1 s tick) and a tail of minutes both show.
const LINEAR_S: f64 = 0.1;

/// The signed-log transform of seconds onto the x axis.
fn symlog(seconds: f64) -> f64 {
    seconds.signum() * (1.0 + seconds.abs() / LINEAR_S).log10()
}

/// The inverse of [`symlog`], for tick labels.
fn seconds(x: f64) -> f64 {
    let magnitude = LINEAR_S * (10f64.powf(x.abs()) - 1.0);
    // Ticks are decades: round away the transform's float noise (0.1 → 0.09999…).
    let decade = 10f64.powf(magnitude.log10().round());
    let magnitude = if (magnitude - decade).abs() < decade * 1e-6 {
        decade
    } else {
        magnitude
    };
    x.signum() * magnitude
}

/// The decades just outside the smallest and largest lateness.
fn domain_s(lateness: &LogHistogram) -> (f64, f64) {
    let min = lateness.min_s().unwrap_or(0.0).min(0.0);
    let max = lateness.max_s().unwrap_or(1.0).max(1.0);
    let low_s = TICK_VALUES_S
        .iter()
        .copied()
        .rev()
        .find(|&t| t <= min)
        .unwrap_or(min);
    let high_s = TICK_VALUES_S
        .iter()
        .copied()
        .find(|&t| t >= max)
        .unwrap_or(max);
    (low_s, high_s)
}

/// The CDF as a staircase in (symlog seconds, %): flat until a bucket's value, then up to its
/// cumulative share.
fn step_points(lateness: &LogHistogram) -> Vec<(f64, f64)> {
    let cdf = lateness.cdf_s();
    let mut points = Vec::with_capacity(cdf.len() * 2 + 1);
    points.push((symlog(lateness.min_s().unwrap_or(0.0)), 0.0));
    let mut previous = 0.0;
    for (value, fraction) in cdf {
        points.push((symlog(value), previous * 100.0));
        points.push((symlog(value), fraction * 100.0));
        previous = fraction;
    }
    points
}

/// Dashed vertical lines at p50, p99 and the maximum, each labelled near the x axis.
fn mark_quantiles(root: &Root<'_>, chart: &Chart<'_, '_>, lateness: &LogHistogram) -> frame::Drawn {
    let dark = RGBColor(0x55, 0x55, 0x55);
    let marks = [
        ("p50", lateness.quantile_s(0.5), dark),
        ("p99", lateness.quantile_s(0.99), dark),
        ("max", lateness.max_s(), ALERT_RED),
    ];
    let right_edge = chart.plotting_area().get_pixel_range().0.end;
    let mut last_label_x = i32::MIN / 2;
    for (index, (name, value, color)) in marks.into_iter().enumerate() {
        let Some(value) = value else { continue };
        let bottom = chart.backend_coord(&(symlog(value), 0.0));
        let top = chart.backend_coord(&(symlog(value), 100.0));
        root.draw(&DashedPathElement::new(
            vec![bottom, top],
            4,
            3,
            color.stroke_width(1),
        ))?;
        let label = format!("{name} {}", duration_label(value));
        let width = frame::estimate_text_width(&label, 11.0);
        // Close marks share a spot: stack their labels instead of overprinting.
        let row = if bottom.0 - last_label_x < width + 6 {
            index as i32
        } else {
            0
        };
        let (anchor, offset) = if bottom.0 + width + 8 > right_edge {
            (HPos::Right, -4)
        } else {
            (HPos::Left, 4)
        };
        let style = frame::font(11.0, color, anchor, VPos::Bottom);
        let at = (bottom.0 + offset, bottom.1 - 8 - row * 15);
        frame::text(root, at, &label, &style)?;
        last_label_x = bottom.0;
    }
    Ok(())
}

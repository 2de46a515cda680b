//! The cumulative distribution of interval-retry lateness (start − (failure + interval)),
//! from the histogram, with p50, p99 and the maximum marked.

use crate::report::chart::axis::{self, duration_label, nice_ticks, Area, Scale};
use crate::report::chart::svg::{num, Anchor, Svg, TextStyle};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::histogram::LogHistogram;
use crate::report::output_dir::{OutputDir, ReportError};

/// The file name, without extension.
pub const RETRY_LATENESS: &str = "retry_lateness";

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 460.0;

/// Writes `retry_lateness.svg` and `.png`.
pub fn retry_lateness_chart(dir: &OutputDir, lateness: &LogHistogram) -> Result<(), ReportError> {
    write_chart(dir, RETRY_LATENESS, &retry_lateness_svg(lateness))
}

/// The chart as an SVG document.
pub fn retry_lateness_svg(lateness: &LogHistogram) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    let subtitle = format!(
        "Share of interval retries that started at most x seconds after they were due \
         ({} retries).",
        lateness.count()
    );
    axis::title(&mut svg, 24.0, "Retry lateness (CDF)", &subtitle);
    let area = Area {
        left: 80.0,
        top: 70.0,
        right: WIDTH - 36.0,
        bottom: HEIGHT - 56.0,
    };
    let x = SymlogScale::new(lateness, (area.left, area.right));
    let title = "lateness (s; logarithmic beyond ±0.1 s)";
    axis::x_axis_at(&mut svg, area, &x.ticks(), title);
    let y = Scale::new((0.0, 100.0), (area.bottom, area.top));
    axis::y_axis(
        &mut svg,
        area,
        y,
        &nice_ticks(0.0, 100.0, 5),
        20.0,
        "retries (%)",
    );
    if lateness.is_empty() {
        let style = TextStyle::new(13.0, Anchor::Middle).fill("#777777");
        let message = "no interval retry started in this run";
        svg.text(
            (area.left + area.right) / 2.0,
            (area.top + area.bottom) / 2.0,
            message,
            style,
        );
        return svg.finish();
    }
    svg.polyline(&step_points(lateness, x, y), PALETTE[0], 2.0, "");
    mark_quantiles(&mut svg, lateness, x, area);
    svg.finish()
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

/// A symmetric log scale: linear within ±0.1 s, logarithmic beyond, so that a body of
/// on-time retries (within the scheduler's 1 s tick) and a tail of minutes both show.
#[derive(Clone, Copy, Debug)]
struct SymlogScale {
    linear: Scale,
    low_s: f64,
    high_s: f64,
}

impl SymlogScale {
    const LINEAR_S: f64 = 0.1;

    fn new(lateness: &LogHistogram, range: (f64, f64)) -> SymlogScale {
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
        let domain = (Self::transform(low_s), Self::transform(high_s));
        SymlogScale {
            linear: Scale::new(domain, range),
            low_s,
            high_s,
        }
    }

    fn transform(seconds: f64) -> f64 {
        seconds.signum() * (1.0 + seconds.abs() / Self::LINEAR_S).log10()
    }

    fn map(&self, seconds: f64) -> f64 {
        self.linear.map(Self::transform(seconds))
    }

    fn ticks(&self) -> Vec<(f64, String)> {
        TICK_VALUES_S
            .iter()
            .filter(|&&t| t >= self.low_s && t <= self.high_s)
            .map(|&t| (self.map(t), num(t)))
            .collect()
    }
}

/// The CDF as a staircase: flat until a bucket's value, then up to its cumulative share.
fn step_points(lateness: &LogHistogram, x: SymlogScale, y: Scale) -> Vec<(f64, f64)> {
    let cdf = lateness.cdf_s();
    let mut points = Vec::with_capacity(cdf.len() * 2 + 1);
    let start = lateness.min_s().unwrap_or(0.0);
    points.push((x.map(start), y.map(0.0)));
    let mut previous = 0.0;
    for (value, fraction) in cdf {
        points.push((x.map(value), y.map(previous * 100.0)));
        points.push((x.map(value), y.map(fraction * 100.0)));
        previous = fraction;
    }
    points
}

fn mark_quantiles(svg: &mut Svg, lateness: &LogHistogram, x: SymlogScale, area: Area) {
    let marks = [
        ("p50", lateness.quantile_s(0.5), "#555555"),
        ("p99", lateness.quantile_s(0.99), "#555555"),
        ("max", lateness.max_s(), ALERT_RED),
    ];
    let dash = r#"stroke-dasharray="4 3""#;
    let mut last_label_x = f64::NEG_INFINITY;
    for (index, (name, value, color)) in marks.into_iter().enumerate() {
        let Some(value) = value else { continue };
        let position = x.map(value);
        svg.line(
            (position, area.top),
            (position, area.bottom),
            color,
            1.0,
            dash,
        );
        let label = format!("{name} {}", duration_label(value));
        let width = axis::estimate_text_width(&label, 11.0);
        // Close marks share a spot: stack their labels instead of overprinting.
        let row = if position - last_label_x < width + 6.0 {
            index
        } else {
            0
        };
        let (anchor, offset) = if position + width + 8.0 > area.right {
            (Anchor::End, -4.0)
        } else {
            (Anchor::Start, 4.0)
        };
        let style = TextStyle::new(11.0, anchor).fill(color);
        let y = area.bottom - 10.0 - row as f64 * 15.0;
        svg.text(position + offset, y, &label, style);
        last_label_x = position;
    }
}

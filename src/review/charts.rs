//! The report's own chart: lines over a shared x axis (p99 queue wait against replicas, one
//! line per arrival rate; retry lateness CDFs, one line per variant), built with the SVG and
//! axis helpers of [`crate::report::chart`].

use crate::report::chart::axis::{self, nice_step, nice_ticks, Area, LegendItem, Scale, Swatch};
use crate::report::chart::svg::Svg;
use crate::report::chart::PALETTE;

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 480.0;

/// One line: a label and its points in data units, ascending in x.
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// Titles of a line chart.
pub struct LineChart<'a> {
    pub title: &'a str,
    pub subtitle: &'a str,
    pub x_title: &'a str,
    pub y_title: &'a str,
    /// Draw each line as a staircase (for CDFs).
    pub steps: bool,
    /// A horizontal dashed line (an SLO), with its label.
    pub limit: Option<(f64, String)>,
}

/// The chart as an SVG document.
pub fn line_chart(chart: &LineChart<'_>, lines: &[Line]) -> String {
    let mut svg = Svg::new(WIDTH, HEIGHT);
    axis::title(&mut svg, 24.0, chart.title, chart.subtitle);
    let area = Area {
        left: 84.0,
        top: 74.0,
        right: WIDTH - 250.0,
        bottom: HEIGHT - 56.0,
    };
    let all = || lines.iter().flat_map(|l| l.points.iter().copied());
    let (x_low, x_high) = bounds(all().map(|p| p.0), 0.0, 1.0);
    let limit = chart.limit.as_ref().map(|(value, _)| *value);
    let (_, y_high) = bounds(all().map(|p| p.1).chain(limit), 0.0, 1.0);
    let (x_step, y_step) = (nice_step(x_low, x_high, 8), nice_step(0.0, y_high, 6));
    let x_ticks = nice_ticks(x_low, x_high, 8);
    let y_ticks = nice_ticks(0.0, y_high, 6);
    let x_domain = (x_low, x_ticks.last().copied().unwrap_or(x_high).max(x_high));
    let y_domain = (0.0, y_ticks.last().copied().unwrap_or(y_high).max(y_high));
    let x = Scale::new(x_domain, (area.left, area.right));
    let y = Scale::new(y_domain, (area.bottom, area.top));
    axis::x_axis(&mut svg, area, x, &x_ticks, x_step, chart.x_title);
    axis::y_axis(&mut svg, area, y, &y_ticks, y_step, chart.y_title);
    if let Some((value, _)) = &chart.limit {
        let level = y.map(*value);
        svg.line(
            (area.left, level),
            (area.right, level),
            "#d62728",
            1.5,
            r#"stroke-dasharray="6 4""#,
        );
    }
    let labels: Vec<String> = lines.iter().map(|l| shorten(&l.label, 34)).collect();
    let mut legend = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let color = PALETTE[i % PALETTE.len()];
        let mut pixels: Vec<(f64, f64)> = Vec::new();
        for &(px, py) in &line.points {
            if chart.steps {
                if let Some(&(_, last_y)) = pixels.last() {
                    pixels.push((x.map(px), last_y));
                }
            }
            pixels.push((x.map(px), y.map(py)));
        }
        // Alternate lines are dashed, so that a line hidden under an equal one still shows.
        let dash = if i % 2 == 1 {
            r#"stroke-dasharray="8 5""#
        } else {
            ""
        };
        svg.polyline(&pixels, color, 2.0, dash);
        if !chart.steps {
            for point in &pixels {
                svg.circle(*point, 3.0, color);
            }
        }
        let swatch = if i % 2 == 1 {
            Swatch::Dashed
        } else {
            Swatch::Line
        };
        legend.push(LegendItem {
            label: &labels[i],
            color,
            swatch,
        });
    }
    if let Some((_, label)) = &chart.limit {
        legend.push(LegendItem {
            label,
            color: "#d62728",
            swatch: Swatch::Dashed,
        });
    }
    for (i, item) in legend.into_iter().enumerate() {
        let row_y = area.top + 8.0 + i as f64 * 20.0;
        axis::legend(&mut svg, area.right + 16.0, row_y, &[item]);
    }
    svg.finish()
}

/// `text` cut to `max` characters with an ellipsis.
fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let kept: String = text.chars().take(max - 1).collect();
    format!("{kept}…")
}

/// The range of `values`, or the defaults when there is none; never empty.
fn bounds(values: impl Iterator<Item = f64>, low: f64, high: f64) -> (f64, f64) {
    let (min, max) = values
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
    if min > max {
        return (low, high);
    }
    if max - min < 1e-9 {
        return (min, min + 1.0);
    }
    (min, max)
}

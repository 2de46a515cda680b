//! The report's own chart: lines over a shared x axis (p99 queue wait against replicas, one
//! line per arrival rate; retry lateness CDFs, one line per variant), drawn with plotters and
//! the shared frame of [`crate::report::chart`].

use plotters::element::DashedPathElement;
use plotters::prelude::*;

use crate::report::chart::frame::{self, LegendItem, Root, Swatch, AXIS_COLOR, GRID_COLOR};
use crate::report::chart::{ALERT_RED, PALETTE};

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
/// The legend's column, right of the plot.
const LEGEND_WIDTH: i32 = 250;

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
    frame::svg_document(WIDTH, HEIGHT, |root| draw(root, chart, lines))
}

fn draw(root: &Root<'_>, chart: &LineChart<'_>, lines: &[Line]) -> frame::Drawn {
    frame::title(root, 24, chart.title, chart.subtitle)?;
    let all = || lines.iter().flat_map(|l| l.points.iter().copied());
    let x_range = bounds(all().map(|p| p.0), 0.0, 1.0);
    let limit = chart.limit.as_ref().map(|(value, _)| *value);
    let (_, y_high) = bounds(all().map(|p| p.1).chain(limit), 0.0, 1.0);
    let mut plot = ChartBuilder::on(root)
        .margin_top(64)
        .margin_right(LEGEND_WIDTH)
        .margin_bottom(8)
        .margin_left(16)
        .x_label_area_size(48)
        .y_label_area_size(76)
        .build_cartesian_2d(x_range.0..x_range.1, 0.0..y_high * 1.05)?;
    plot.configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .axis_style(AXIS_COLOR)
        .x_labels(9)
        .y_labels(10)
        .x_label_formatter(&|x| frame::num(*x))
        .y_label_formatter(&|y| frame::num(*y))
        .label_style(frame::tick_font())
        .y_label_style(frame::y_tick_font())
        .x_desc(chart.x_title)
        .y_desc(chart.y_title)
        .axis_desc_style(frame::axis_title_font())
        .draw()?;
    if let Some(value) = limit {
        let ends = [(x_range.0, value), (x_range.1, value)];
        let pixels: Vec<_> = ends.iter().map(|p| plot.backend_coord(p)).collect();
        root.draw(&DashedPathElement::new(
            pixels,
            6,
            4,
            ALERT_RED.stroke_width(2),
        ))?;
    }
    for (i, line) in lines.iter().enumerate() {
        draw_line(&mut plot, chart.steps, i, line)?;
    }
    let right = plot.plotting_area().get_pixel_range().0.end;
    draw_legend(root, chart, lines, right + 16)
}

type Plot<'a, 'b> = ChartContext<
    'a,
    SVGBackend<'b>,
    Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
>;

/// Line `i` in its palette colour; odd lines are dashed, so that a line hidden under an equal
/// one still shows.
fn draw_line(plot: &mut Plot<'_, '_>, steps: bool, i: usize, line: &Line) -> frame::Drawn {
    let color = PALETTE[i % PALETTE.len()];
    let mut points: Vec<(f64, f64)> = Vec::new();
    for &(x, y) in &line.points {
        if let (true, Some(&(_, last_y))) = (steps, points.last()) {
            points.push((x, last_y));
        }
        points.push((x, y));
    }
    let style = color.stroke_width(2);
    if i % 2 == 1 {
        plot.draw_series(DashedLineSeries::new(points.iter().copied(), 8, 5, style))?;
    } else {
        plot.draw_series(LineSeries::new(points.iter().copied(), style))?;
    }
    if !steps {
        let dots = points.iter().map(|&p| Circle::new(p, 3, color.filled()));
        plot.draw_series(dots)?;
    }
    Ok(())
}

/// One legend row per line, then the limit's.
fn draw_legend(root: &Root<'_>, chart: &LineChart<'_>, lines: &[Line], x: i32) -> frame::Drawn {
    let labels: Vec<String> = lines.iter().map(|l| shorten(&l.label, 34)).collect();
    let mut items: Vec<LegendItem<'_>> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| LegendItem {
            label,
            color: PALETTE[i % PALETTE.len()],
            swatch: if i % 2 == 1 {
                Swatch::Dashed
            } else {
                Swatch::Line
            },
        })
        .collect();
    if let Some((_, label)) = &chart.limit {
        items.push(LegendItem {
            label,
            color: ALERT_RED,
            swatch: Swatch::Dashed,
        });
    }
    for (row, item) in items.into_iter().enumerate() {
        frame::legend(root, x, 80 + row as i32 * 20, &[item])?;
    }
    Ok(())
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

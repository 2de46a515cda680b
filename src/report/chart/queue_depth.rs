//! Queue depth and scheduled-set size over time, one colour per queue (solid: waiting in the
//! queue; dashed: waiting in `rq:scheduled:<q>`), with each fault as a red vertical line.

use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::report::chart::frame::{
    self, duration_label, LegendItem, Root, Swatch, TimeUnit, AXIS_COLOR, GREY, GRID_COLOR,
    TEXT_COLOR,
};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::output_dir::{OutputDir, ReportError};
use crate::report::timeseries::QueueSeries;
use crate::sim::SimTime;

/// The file name, without extension.
pub const QUEUE_DEPTH: &str = "queue_depth";

const WIDTH: u32 = 960;
const HEIGHT: u32 = 480;
/// Faults are labelled only when there are few enough to read.
const MAX_FAULT_LABELS: usize = 12;

type Chart<'a, 'b> = ChartContext<'a, SVGBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// Writes `queue_depth.svg` and `.png`. `end` is the end of the run (the x axis ends there).
pub fn queue_depth_chart(
    dir: &OutputDir,
    series: &[QueueSeries],
    faults: &[(SimTime, String)],
    end: SimTime,
) -> Result<(), ReportError> {
    write_chart(dir, QUEUE_DEPTH, &queue_depth_svg(series, faults, end))
}

/// The chart as an SVG document.
pub fn queue_depth_svg(
    series: &[QueueSeries],
    faults: &[(SimTime, String)],
    end: SimTime,
) -> String {
    let listed = if faults.len() <= MAX_FAULT_LABELS {
        faults.len()
    } else {
        0
    };
    let list_height = listed.div_ceil(2) as u32 * 16 + if listed > 0 { 12 } else { 0 };
    frame::svg_document(WIDTH, HEIGHT + list_height, |root| {
        let (plot, list) = root.split_vertically(HEIGHT);
        draw(&plot, series, faults, end)?;
        if listed > 0 {
            list_faults(&list, faults)?;
        }
        Ok(())
    })
}

fn draw(
    root: &Root<'_>,
    series: &[QueueSeries],
    faults: &[(SimTime, String)],
    end: SimTime,
) -> frame::Drawn {
    let subtitle = "Solid: jobs waiting in the queue. Dashed: jobs in the scheduled set \
                    (rq:scheduled:<queue>). Red lines: faults, numbered below.";
    frame::title(root, 24, "Queue depth and scheduled jobs", subtitle)?;
    draw_legend(root, series, faults)?;
    let end_s = end.as_secs_f64().max(1.0);
    let unit = TimeUnit::for_span_s(end_s);
    let top = frame::count_top(largest_value(series) as f64);
    let mut chart = ChartBuilder::on(root)
        .margin_top(100)
        .margin_right(28)
        .margin_bottom(8)
        .margin_left(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0.0..end_s / unit.seconds(), 0.0..top)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .axis_style(AXIS_COLOR)
        .x_labels(10)
        .y_labels(8)
        .x_label_formatter(&|x| frame::num(*x))
        .y_label_formatter(&|y| frame::num(*y))
        .label_style(frame::tick_font())
        .y_label_style(frame::y_tick_font())
        .x_desc(unit.axis_title())
        .y_desc("jobs")
        .axis_desc_style(frame::axis_title_font())
        .draw()?;
    draw_faults(root, &chart, faults, unit, top)?;
    for (index, queue) in series.iter().enumerate() {
        draw_queue(&mut chart, queue, PALETTE[index % PALETTE.len()], unit)?;
    }
    if series.iter().all(|s| s.points.is_empty()) {
        let style = frame::font(13.0, GREY, HPos::Center, VPos::Center);
        let (xs, ys) = chart.plotting_area().get_pixel_range();
        let middle = (xs.start + xs.end) / 2;
        frame::text(root, (middle, ys.start + 30), "no samples", &style)?;
    }
    Ok(())
}

fn largest_value(series: &[QueueSeries]) -> u64 {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.depth.max(p.scheduled)))
        .max()
        .unwrap_or(0)
}

fn draw_queue(
    chart: &mut Chart<'_, '_>,
    queue: &QueueSeries,
    color: RGBColor,
    unit: TimeUnit,
) -> frame::Drawn {
    let x = |time: SimTime| time.as_secs_f64() / unit.seconds();
    let scheduled = queue.points.iter().map(|p| (x(p.time), p.scheduled as f64));
    let style = color.stroke_width(2);
    chart.draw_series(DashedLineSeries::new(scheduled, 5, 3, style))?;
    let depth = queue.points.iter().map(|p| (x(p.time), p.depth as f64));
    chart.draw_series(LineSeries::new(depth, style))?;
    Ok(())
}

/// Each fault as a dashed red line over the plot, numbered in a red disc above it when there
/// are few enough faults for the list under the chart.
fn draw_faults(
    root: &Root<'_>,
    chart: &Chart<'_, '_>,
    faults: &[(SimTime, String)],
    unit: TimeUnit,
    top: f64,
) -> frame::Drawn {
    let numbered = faults.len() <= MAX_FAULT_LABELS;
    let line = ALERT_RED.mix(0.8).stroke_width(1);
    for (index, (time, _)) in faults.iter().enumerate() {
        let x = time.as_secs_f64() / unit.seconds();
        let (from, to) = (
            chart.backend_coord(&(x, 0.0)),
            chart.backend_coord(&(x, top)),
        );
        root.draw(&DashedPathElement::new(vec![from, to], 3, 3, line))?;
        if numbered {
            fault_number(root, (to.0, to.1 - 10), index + 1)?;
        }
    }
    Ok(())
}

/// A fault's number in a red disc centred on `at`.
fn fault_number(root: &Root<'_>, at: (i32, i32), number: usize) -> frame::Drawn {
    let style = frame::bold(frame::font(9.5, WHITE, HPos::Center, VPos::Center));
    root.draw(&Circle::new(at, 7, ALERT_RED.filled()))?;
    frame::text(root, at, &number.to_string(), &style)
}

/// The list under the axis: number, time, what happened; two columns.
fn list_faults(area: &Root<'_>, faults: &[(SimTime, String)]) -> frame::Drawn {
    let style = frame::font(11.0, TEXT_COLOR, HPos::Left, VPos::Center);
    let column_width = (WIDTH as i32 - 80 - 28) / 2;
    for (index, (time, description)) in faults.iter().enumerate() {
        let left = 80 + (index % 2) as i32 * column_width;
        let y = 8 + (index / 2) as i32 * 16;
        fault_number(area, (left + 6, y), index + 1)?;
        let line = format!(
            "{}: {}",
            duration_label(time.as_secs_f64()),
            short_label(description)
        );
        frame::text(area, (left + 18, y), &line, &style)?;
    }
    Ok(())
}

fn short_label(description: &str) -> String {
    const MAX_CHARS: usize = 60;
    if description.chars().count() <= MAX_CHARS {
        return description.to_string();
    }
    let head: String = description.chars().take(MAX_CHARS - 1).collect();
    format!("{head}…")
}

fn draw_legend(
    root: &Root<'_>,
    series: &[QueueSeries],
    faults: &[(SimTime, String)],
) -> frame::Drawn {
    let labels: Vec<(String, RGBColor)> = series
        .iter()
        .enumerate()
        .map(|(index, s)| (format!("queue {}", s.queue), PALETTE[index % PALETTE.len()]))
        .collect();
    let mut items: Vec<LegendItem<'_>> = labels
        .iter()
        .map(|(label, color)| LegendItem {
            label,
            color: *color,
            swatch: Swatch::Line,
        })
        .collect();
    items.push(LegendItem {
        label: "scheduled",
        color: GREY,
        swatch: Swatch::Dashed,
    });
    let fault_label = format!("fault ({})", faults.len());
    if !faults.is_empty() {
        items.push(LegendItem {
            label: &fault_label,
            color: ALERT_RED,
            swatch: Swatch::Dashed,
        });
    }
    frame::legend(root, 80, 70, &items)
}

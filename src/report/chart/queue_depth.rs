//! Queue depth and scheduled-set size over time, one colour per queue (solid: waiting in the
//! queue; dashed: waiting in `rq:scheduled:<q>`), with each fault as a red vertical line.

use crate::report::chart::axis::{
    self, count_axis, duration_label, legend, nice_ticks, Area, LegendItem, Scale, Swatch, TimeUnit,
};
use crate::report::chart::svg::{Anchor, Svg, TextStyle};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::output_dir::{OutputDir, ReportError};
use crate::report::timeseries::QueueSeries;
use crate::sim::SimTime;

/// The file name, without extension.
pub const QUEUE_DEPTH: &str = "queue_depth";

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 480.0;
/// Faults are labelled only when there are few enough to read.
const MAX_FAULT_LABELS: usize = 12;

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
    let list_height = listed.div_ceil(2) as f64 * 16.0 + if listed > 0 { 12.0 } else { 0.0 };
    let mut svg = Svg::new(WIDTH, HEIGHT + list_height);
    let subtitle = "Solid: jobs waiting in the queue. Dashed: jobs in the scheduled set \
                    (rq:scheduled:<queue>). Red lines: faults, numbered below.";
    axis::title(&mut svg, 24.0, "Queue depth and scheduled jobs", subtitle);
    let area = Area {
        left: 80.0,
        top: 100.0,
        right: WIDTH - 28.0,
        bottom: HEIGHT - 56.0,
    };
    let end_s = end.as_secs_f64().max(1.0);
    let unit = TimeUnit::for_span_s(end_s);
    let x_scale = Scale::new((0.0, end_s / unit.seconds()), (area.left, area.right));
    let x_ticks = nice_ticks(0.0, end_s / unit.seconds(), 8);
    let x_step = axis::nice_step(0.0, end_s / unit.seconds(), 8);
    axis::x_axis(&mut svg, area, x_scale, &x_ticks, x_step, unit.axis_title());
    let (y_max, y_step, y_ticks) = count_axis(largest_value(series) as f64);
    let y_scale = Scale::new((0.0, y_max), (area.bottom, area.top));
    axis::y_axis(&mut svg, area, y_scale, &y_ticks, y_step, "jobs");
    let time_scale = Scale::new((0.0, end_s), (area.left, area.right));
    draw_faults(&mut svg, faults, time_scale, area);
    for (index, queue) in series.iter().enumerate() {
        draw_queue(
            &mut svg,
            queue,
            PALETTE[index % PALETTE.len()],
            time_scale,
            y_scale,
        );
    }
    draw_legend(&mut svg, series, faults, area.left);
    if series.iter().all(|s| s.points.is_empty()) {
        let style = TextStyle::new(13.0, Anchor::Middle).fill("#777777");
        svg.text(
            (area.left + area.right) / 2.0,
            area.top + 30.0,
            "no samples",
            style,
        );
    }
    svg.finish()
}

fn largest_value(series: &[QueueSeries]) -> u64 {
    series
        .iter()
        .flat_map(|s| s.points.iter().map(|p| p.depth.max(p.scheduled)))
        .max()
        .unwrap_or(0)
}

fn draw_queue(svg: &mut Svg, queue: &QueueSeries, color: &str, x: Scale, y: Scale) {
    let depth: Vec<(f64, f64)> = queue
        .points
        .iter()
        .map(|p| (x.map(p.time.as_secs_f64()), y.map(p.depth as f64)))
        .collect();
    let scheduled: Vec<(f64, f64)> = queue
        .points
        .iter()
        .map(|p| (x.map(p.time.as_secs_f64()), y.map(p.scheduled as f64)))
        .collect();
    svg.polyline(&scheduled, color, 1.6, r#"stroke-dasharray="5 3""#);
    svg.polyline(&depth, color, 1.8, "");
}

fn draw_faults(svg: &mut Svg, faults: &[(SimTime, String)], x: Scale, area: Area) {
    let dash = r#"stroke-dasharray="3 3" stroke-opacity="0.8""#;
    let numbered = faults.len() <= MAX_FAULT_LABELS;
    let number_style = TextStyle::new(9.5, Anchor::Middle).bold().fill("#ffffff");
    for (index, (time, _)) in faults.iter().enumerate() {
        let position = x.map(time.as_secs_f64());
        svg.line(
            (position, area.top),
            (position, area.bottom),
            ALERT_RED,
            1.0,
            dash,
        );
        if numbered {
            svg.circle((position, area.top - 9.0), 7.5, ALERT_RED);
            let label = (index + 1).to_string();
            svg.text(position, area.top - 5.5, &label, number_style);
        }
    }
    if !numbered {
        return;
    }
    // The list under the axis: number, time, what happened; two columns.
    let text_style = TextStyle::new(11.0, Anchor::Start).fill("#333333");
    let column_width = area.width() / 2.0;
    for (index, (time, description)) in faults.iter().enumerate() {
        let column = (index % 2) as f64;
        let row = (index / 2) as f64;
        let left = area.left + column * column_width;
        let y = area.bottom + 62.0 + row * 16.0;
        svg.circle((left + 6.0, y - 4.0), 6.5, ALERT_RED);
        svg.text(left + 6.0, y - 0.5, &(index + 1).to_string(), number_style);
        let line = format!(
            "{}: {}",
            duration_label(time.as_secs_f64()),
            short_label(description)
        );
        svg.text(left + 18.0, y, &line, text_style);
    }
}

fn short_label(description: &str) -> String {
    const MAX_CHARS: usize = 60;
    if description.chars().count() <= MAX_CHARS {
        return description.to_string();
    }
    let head: String = description.chars().take(MAX_CHARS - 1).collect();
    format!("{head}…")
}

fn draw_legend(svg: &mut Svg, series: &[QueueSeries], faults: &[(SimTime, String)], left: f64) {
    let labels: Vec<(String, &str)> = series
        .iter()
        .enumerate()
        .map(|(index, s)| (format!("queue {}", s.queue), PALETTE[index % PALETTE.len()]))
        .collect();
    let mut items: Vec<LegendItem<'_>> = labels
        .iter()
        .map(|(label, color)| LegendItem {
            label,
            color,
            swatch: Swatch::Line,
        })
        .collect();
    items.push(LegendItem {
        label: "scheduled",
        color: "#777777",
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
    legend(svg, left, 66.0, &items);
}

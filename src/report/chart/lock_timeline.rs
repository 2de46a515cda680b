//! The lock-holder timeline: one panel per queue, one lane per scheduler.
//!
//! ```text
//!  queue default — longest gap 13.5 min, two believers 75 s
//!   sched-a │████████████░░░░░░░░░░░░░░░│            │
//!   sched-b │            ░░░░ gap ░░░░░░│████████████│
//!           └──────────────────────────────────────── time
//! ```
//! Bars: the lock's value in Redis. Hatched: nobody holds it. Red: two or more schedulers
//! believe they hold it (one of them is wrong, and may still enqueue).
//!
//! Plotters draws the time axis and its grid; the panels are laid out in pixels below the
//! chart's top, with x positions taken from the chart's time coordinate.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, VPos};

use crate::event::Name;
use crate::report::chart::frame::{
    self, duration_label, LegendItem, Root, Swatch, TimeUnit, AXIS_COLOR, GREY, GRID_COLOR,
    TEXT_COLOR,
};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::output_dir::{OutputDir, ReportError};
use crate::report::scheduler_gaps::{QueueLockTimeline, SchedulerGapReport};

/// The file name, without extension.
pub const LOCK_TIMELINE: &str = "lock_timeline";

const WIDTH: i32 = 960;
const LEFT: i32 = 190;
const RIGHT: i32 = WIDTH - 28;
const TOP: i32 = 84;
const LANE_HEIGHT: i32 = 18;
const LANE_GAP: i32 = 6;
const PANEL_HEADER: i32 = 26;
const PANEL_FOOTER: i32 = 16;
/// Lanes drawn per queue; schedulers beyond share an "other" lane.
const MAX_LANES: usize = 16;
/// The fill under the hatching of "no holder".
const GAP_FILL: RGBColor = RGBColor(0xf1, 0xf1, 0xf1);

/// Writes `lock_timeline.svg` and `.png`.
pub fn lock_timeline_chart(
    dir: &OutputDir,
    report: &SchedulerGapReport,
) -> Result<(), ReportError> {
    write_chart(dir, LOCK_TIMELINE, &lock_timeline_svg(report))
}

/// The scheduler names of a queue, one per lane, in order of first appearance.
fn lanes(timeline: &QueueLockTimeline) -> Vec<Name> {
    let mut names: Vec<(u64, Name)> = Vec::new();
    let holders = timeline
        .intervals
        .iter()
        .filter_map(|i| i.holder.clone().map(|h| (i.start.as_micros(), h)));
    let believers = timeline.dual_periods.iter().flat_map(|p| {
        p.schedulers
            .iter()
            .map(|s| (p.start.as_micros(), s.clone()))
    });
    for (time, name) in holders.chain(believers) {
        match names.iter_mut().find(|(_, n)| *n == name) {
            Some(entry) => entry.0 = entry.0.min(time),
            None => names.push((time, name)),
        }
    }
    names.sort();
    names.into_iter().map(|(_, name)| name).collect()
}

fn lane_of(lanes: &[Name], name: &str) -> usize {
    lanes
        .iter()
        .position(|n| &**n == name)
        .unwrap_or(lanes.len())
        .min(MAX_LANES)
}

fn lane_count(lanes: &[Name]) -> i32 {
    lanes.len().clamp(1, MAX_LANES + 1) as i32
}

fn panel_height(timeline: &QueueLockTimeline) -> i32 {
    PANEL_HEADER + lane_count(&lanes(timeline)) * (LANE_HEIGHT + LANE_GAP) + PANEL_FOOTER
}

/// The chart as an SVG document.
pub fn lock_timeline_svg(report: &SchedulerGapReport) -> String {
    let panels_height: i32 = report.queues.iter().map(panel_height).sum::<i32>().max(40);
    let bottom = TOP + panels_height;
    frame::svg_document(WIDTH as u32, (bottom + 44) as u32, |root| {
        draw(root, report, bottom)
    })
}

fn draw(root: &Root<'_>, report: &SchedulerGapReport, bottom: i32) -> frame::Drawn {
    let subtitle = "Bars: value of rq:scheduler-lock:<queue> in Redis. Red: two or more \
                    schedulers believe they hold the lock.";
    frame::title(root, 24, "Scheduler lock holder per queue", subtitle)?;
    frame::legend(root, LEFT, 62, &legend_items())?;
    let end_s = report.end.as_secs_f64().max(1.0);
    let unit = TimeUnit::for_span_s(end_s);
    // The plot area is exactly LEFT..RIGHT × TOP..bottom; the y axis is unused.
    let mut chart = ChartBuilder::on(root)
        .margin_left(LEFT)
        .margin_right(WIDTH - RIGHT)
        .margin_top(TOP)
        .x_label_area_size(44)
        .build_cartesian_2d(0.0..end_s / unit.seconds(), 0.0..1.0)?;
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .light_line_style(TRANSPARENT)
        .bold_line_style(GRID_COLOR)
        .axis_style(AXIS_COLOR)
        .x_labels(10)
        .x_label_formatter(&|x| frame::num(*x))
        .label_style(frame::tick_font())
        .x_desc(unit.axis_title())
        .axis_desc_style(frame::axis_title_font())
        .draw()?;
    debug_assert_eq!(chart.plotting_area().get_pixel_range().1.end, bottom);
    let x = |seconds: f64| chart.backend_coord(&(seconds / unit.seconds(), 0.0)).0;
    let mut top = TOP;
    for timeline in &report.queues {
        draw_panel(root, timeline, &x, top)?;
        top += panel_height(timeline);
    }
    if report.queues.is_empty() {
        let style = frame::font(13.0, GREY, HPos::Center, VPos::Center);
        let message = "no scheduler lock was observed";
        frame::text(root, ((LEFT + RIGHT) / 2, TOP + 22), message, &style)?;
    }
    Ok(())
}

fn legend_items() -> [LegendItem<'static>; 3] {
    [
        LegendItem {
            label: "holds the lock",
            color: PALETTE[0],
            swatch: Swatch::Box,
        },
        LegendItem {
            label: "no holder",
            color: GAP_FILL,
            swatch: Swatch::Hatched,
        },
        LegendItem {
            label: "two schedulers believe they hold it",
            color: ALERT_RED,
            swatch: Swatch::Box,
        },
    ]
}

/// The pixel rows of one panel's lanes.
#[derive(Clone, Copy)]
struct Lanes {
    top: i32,
    bottom: i32,
}

fn draw_panel(
    root: &Root<'_>,
    timeline: &QueueLockTimeline,
    x: &dyn Fn(f64) -> i32,
    top: i32,
) -> frame::Drawn {
    let names = lanes(timeline);
    let lanes_top = top + PANEL_HEADER;
    let rows = Lanes {
        top: lanes_top,
        bottom: lanes_top + lane_count(&names) * (LANE_HEIGHT + LANE_GAP) - LANE_GAP,
    };
    // The header sits on white, above the grid lines.
    root.draw(&Rectangle::new(
        [(LEFT, top), (RIGHT, top + PANEL_HEADER - 6)],
        WHITE.filled(),
    ))?;
    let header_style = frame::bold(frame::font(
        13.0,
        RGBColor(0x22, 0x22, 0x22),
        HPos::Left,
        VPos::Center,
    ));
    frame::text(root, (24, top + 12), &panel_header(timeline), &header_style)?;
    draw_lane_labels(root, &names, lanes_top)?;
    for interval in &timeline.intervals {
        let (x0, x1) = (
            x(interval.start.as_secs_f64()),
            x(interval.end.as_secs_f64()),
        );
        match &interval.holder {
            None => {
                let corners = [(x0, rows.top), (x1, rows.bottom)];
                root.draw(&Rectangle::new(corners, GAP_FILL.filled()))?;
                frame::hatch(root, corners[0], corners[1])?;
            }
            Some(holder) => {
                let lane = lane_of(&names, holder);
                let y = lanes_top + lane as i32 * (LANE_HEIGHT + LANE_GAP);
                let color = PALETTE[lane % PALETTE.len()];
                let corners = [(x0, y), (x1.max(x0 + 1), y + LANE_HEIGHT)];
                root.draw(&Rectangle::new(corners, color.filled()))?;
            }
        }
    }
    annotate_longest_gap(root, timeline, x, rows)?;
    for period in &timeline.dual_periods {
        let x0 = x(period.start.as_secs_f64());
        let x1 = x(period.end.as_secs_f64()).max(x0 + 2);
        draw_two_believers(root, x0, x1, rows)?;
    }
    Ok(())
}

/// A period with two believers: a translucent red box over all lanes, and a red triangle
/// above it so that a short one still catches the eye.
fn draw_two_believers(root: &Root<'_>, x0: i32, x1: i32, rows: Lanes) -> frame::Drawn {
    let corners = [(x0, rows.top), (x1, rows.bottom)];
    root.draw(&Rectangle::new(corners, ALERT_RED.mix(0.22).filled()))?;
    root.draw(&Rectangle::new(corners, ALERT_RED.stroke_width(1)))?;
    let middle = (x0 + x1) / 2;
    let marker = vec![
        (middle - 5, rows.top - 9),
        (middle + 5, rows.top - 9),
        (middle, rows.top - 1),
    ];
    root.draw(&Polygon::new(marker, ALERT_RED.filled()))
}

fn panel_header(timeline: &QueueLockTimeline) -> String {
    let mut header = format!(
        "queue {} — longest time without a live scheduler {}",
        timeline.queue,
        duration_label(timeline.longest_gap.as_secs_f64())
    );
    if !timeline.dual_periods.is_empty() {
        header.push_str(&format!(
            ", two believers for {} in {} period{}",
            duration_label(timeline.dual_total.as_secs_f64()),
            timeline.dual_periods.len(),
            if timeline.dual_periods.len() == 1 {
                ""
            } else {
                "s"
            }
        ));
    }
    if timeline.truncated {
        header.push_str(" (timeline truncated)");
    }
    header
}

fn draw_lane_labels(root: &Root<'_>, names: &[Name], lanes_top: i32) -> frame::Drawn {
    let style = frame::font(11.0, TEXT_COLOR, HPos::Right, VPos::Center);
    let separator_color = RGBColor(0xee, 0xee, 0xee);
    let shown = names.len().min(MAX_LANES);
    for (lane, name) in names.iter().take(shown).enumerate() {
        let y = lanes_top + lane as i32 * (LANE_HEIGHT + LANE_GAP);
        frame::text(
            root,
            (LEFT - 8, y + LANE_HEIGHT / 2),
            &short_name(name),
            &style,
        )?;
        let separator = y + LANE_HEIGHT + LANE_GAP / 2;
        root.draw(&PathElement::new(
            vec![(LEFT, separator), (RIGHT, separator)],
            separator_color,
        ))?;
    }
    let middle = lanes_top + MAX_LANES as i32 * (LANE_HEIGHT + LANE_GAP) + LANE_HEIGHT / 2;
    if names.len() > MAX_LANES {
        let label = format!("{} other schedulers", names.len() - MAX_LANES);
        frame::text(root, (LEFT - 8, middle), &label, &style)?;
    }
    if names.is_empty() {
        let muted = frame::font(11.0, RGBColor(0x88, 0x88, 0x88), HPos::Right, VPos::Center);
        frame::text(
            root,
            (LEFT - 8, lanes_top + LANE_HEIGHT / 2),
            "(no holder)",
            &muted,
        )?;
    }
    Ok(())
}

/// Long names keep their end, where pods and processes differ.
fn short_name(name: &str) -> String {
    const MAX_CHARS: usize = 26;
    let count = name.chars().count();
    if count <= MAX_CHARS {
        return name.to_string();
    }
    let tail: String = name.chars().skip(count - (MAX_CHARS - 1)).collect();
    format!("…{tail}")
}

/// "gap 13.5 min" on a white label in the middle of the longest gap, when it fits.
fn annotate_longest_gap(
    root: &Root<'_>,
    timeline: &QueueLockTimeline,
    x: &dyn Fn(f64) -> i32,
    rows: Lanes,
) -> frame::Drawn {
    let Some(start) = timeline.longest_gap_start else {
        return Ok(());
    };
    if timeline.longest_gap.as_micros() == 0 {
        return Ok(());
    }
    let start_s = start.as_secs_f64();
    let end_s = start_s + timeline.longest_gap.as_secs_f64();
    let (x0, x1) = (x(start_s), x(end_s));
    let label = format!("gap {}", duration_label(end_s - start_s));
    let width = frame::estimate_text_width(&label, 11.0) + 8;
    if x1 - x0 < width {
        return Ok(());
    }
    let (middle, y) = ((x0 + x1) / 2, (rows.top + rows.bottom) / 2);
    let backdrop = [(middle - width / 2, y - 8), (middle + width / 2, y + 8)];
    root.draw(&Rectangle::new(backdrop, WHITE.mix(0.85).filled()))?;
    let style = frame::font(11.0, frame::MUTED_TEXT, HPos::Center, VPos::Center);
    frame::text(root, (middle, y), &label, &style)
}

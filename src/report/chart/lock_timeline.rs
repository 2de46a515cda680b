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

use crate::event::Name;
use crate::report::chart::axis::{
    self, duration_label, legend, nice_ticks, Area, LegendItem, Scale, Swatch, TimeUnit,
};
use crate::report::chart::svg::{Anchor, Svg, TextStyle};
use crate::report::chart::{write_chart, ALERT_RED, PALETTE};
use crate::report::output_dir::{OutputDir, ReportError};
use crate::report::scheduler_gaps::{QueueLockTimeline, SchedulerGapReport};

/// The file name, without extension.
pub const LOCK_TIMELINE: &str = "lock_timeline";

const WIDTH: f64 = 960.0;
const LEFT: f64 = 190.0;
const RIGHT: f64 = WIDTH - 28.0;
const TOP: f64 = 84.0;
const LANE_HEIGHT: f64 = 18.0;
const LANE_GAP: f64 = 6.0;
const PANEL_HEADER: f64 = 26.0;
const PANEL_FOOTER: f64 = 16.0;
/// Lanes drawn per queue; schedulers beyond share an "other" lane.
const MAX_LANES: usize = 16;

const GAP_PATTERN: &str = concat!(
    r##"<pattern id="gap" width="7" height="7" patternUnits="userSpaceOnUse" "##,
    r##"patternTransform="rotate(45)"><rect width="7" height="7" fill="#f1f1f1"/>"##,
    r##"<line x1="0" y1="0" x2="0" y2="7" stroke="#c9c9c9" stroke-width="2.5"/></pattern>"##
);

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

fn lane_count(lanes: &[Name]) -> usize {
    lanes.len().clamp(1, MAX_LANES + 1)
}

fn panel_height(timeline: &QueueLockTimeline) -> f64 {
    PANEL_HEADER + lane_count(&lanes(timeline)) as f64 * (LANE_HEIGHT + LANE_GAP) + PANEL_FOOTER
}

/// The chart as an SVG document.
pub fn lock_timeline_svg(report: &SchedulerGapReport) -> String {
    let panels_height: f64 = report
        .queues
        .iter()
        .map(panel_height)
        .sum::<f64>()
        .max(40.0);
    let bottom = TOP + panels_height;
    let mut svg = Svg::new(WIDTH, bottom + 52.0);
    svg.def(GAP_PATTERN);
    let subtitle = "Bars: value of rq:scheduler-lock:<queue> in Redis. Red: two or more \
                    schedulers believe they hold the lock.";
    axis::title(&mut svg, 24.0, "Scheduler lock holder per queue", subtitle);
    legend(&mut svg, LEFT, 66.0, &legend_items());
    let end_s = report.end.as_secs_f64().max(1.0);
    let unit = TimeUnit::for_span_s(end_s);
    let area = Area {
        left: LEFT,
        top: TOP,
        right: RIGHT,
        bottom,
    };
    let scale = Scale::new((0.0, end_s / unit.seconds()), (LEFT, RIGHT));
    let ticks = nice_ticks(0.0, end_s / unit.seconds(), 8);
    let step = axis::nice_step(0.0, end_s / unit.seconds(), 8);
    axis::x_axis(&mut svg, area, scale, &ticks, step, unit.axis_title());
    let time_scale = Scale::new((0.0, end_s), (LEFT, RIGHT));
    let mut top = TOP;
    for timeline in &report.queues {
        draw_panel(&mut svg, timeline, time_scale, top);
        top += panel_height(timeline);
    }
    if report.queues.is_empty() {
        let style = TextStyle::new(13.0, Anchor::Middle).fill("#777777");
        svg.text(
            (LEFT + RIGHT) / 2.0,
            TOP + 26.0,
            "no scheduler lock was observed",
            style,
        );
    }
    svg.finish()
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
            color: "url(#gap)",
            swatch: Swatch::Pattern,
        },
        LegendItem {
            label: "two schedulers believe they hold it",
            color: ALERT_RED,
            swatch: Swatch::Box,
        },
    ]
}

fn draw_panel(svg: &mut Svg, timeline: &QueueLockTimeline, scale: Scale, top: f64) {
    let names = lanes(timeline);
    let lanes_top = top + PANEL_HEADER;
    let lanes_bottom = lanes_top + lane_count(&names) as f64 * (LANE_HEIGHT + LANE_GAP);
    let header = panel_header(timeline);
    // The header sits on white, above the grid lines.
    svg.rect(LEFT, top, RIGHT - LEFT, PANEL_HEADER - 6.0, "#ffffff", "");
    svg.text(
        24.0,
        top + 17.0,
        &header,
        TextStyle::new(13.0, Anchor::Start).bold().fill("#222222"),
    );
    draw_lane_labels(svg, &names, lanes_top);
    let x = |seconds: f64| scale.map(seconds);
    for interval in &timeline.intervals {
        let (x0, x1) = (
            x(interval.start.as_secs_f64()),
            x(interval.end.as_secs_f64()),
        );
        match &interval.holder {
            None => svg.rect(
                x0,
                lanes_top,
                x1 - x0,
                lanes_bottom - lanes_top - LANE_GAP,
                "url(#gap)",
                "",
            ),
            Some(holder) => {
                let lane = lane_of(&names, holder);
                let y = lanes_top + lane as f64 * (LANE_HEIGHT + LANE_GAP);
                let color = PALETTE[lane % PALETTE.len()];
                svg.rect(x0, y, (x1 - x0).max(1.0), LANE_HEIGHT, color, "");
            }
        }
    }
    annotate_longest_gap(svg, timeline, scale, lanes_top, lanes_bottom);
    for period in &timeline.dual_periods {
        let (x0, x1) = (x(period.start.as_secs_f64()), x(period.end.as_secs_f64()));
        let width = (x1 - x0).max(2.0);
        let height = lanes_bottom - lanes_top - LANE_GAP;
        let style = format!(r#"fill-opacity="0.22" stroke="{ALERT_RED}" stroke-width="1""#);
        svg.rect(x0, lanes_top, width, height, ALERT_RED, &style);
        let marker_x = x0 + width / 2.0;
        let marker = [
            (marker_x - 5.0, lanes_top - 9.0),
            (marker_x + 5.0, lanes_top - 9.0),
            (marker_x, lanes_top - 1.0),
        ];
        svg.polygon(&marker, ALERT_RED);
    }
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

fn draw_lane_labels(svg: &mut Svg, names: &[Name], lanes_top: f64) {
    let style = TextStyle::new(11.0, Anchor::End).fill("#333333");
    let shown = names.len().min(MAX_LANES);
    for (lane, name) in names.iter().take(shown).enumerate() {
        let y = lanes_top + lane as f64 * (LANE_HEIGHT + LANE_GAP);
        svg.text(LEFT - 8.0, y + 13.0, &short_name(name), style);
        let separator = y + LANE_HEIGHT + LANE_GAP / 2.0;
        svg.line((LEFT, separator), (RIGHT, separator), "#eeeeee", 1.0, "");
    }
    if names.len() > MAX_LANES {
        let y = lanes_top + MAX_LANES as f64 * (LANE_HEIGHT + LANE_GAP);
        let label = format!("{} other schedulers", names.len() - MAX_LANES);
        svg.text(LEFT - 8.0, y + 13.0, &label, style);
    }
    if names.is_empty() {
        svg.text(
            LEFT - 8.0,
            lanes_top + 13.0,
            "(no holder)",
            style.fill("#888888"),
        );
    }
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

fn annotate_longest_gap(
    svg: &mut Svg,
    timeline: &QueueLockTimeline,
    scale: Scale,
    top: f64,
    bottom: f64,
) {
    let Some(start) = timeline.longest_gap_start else {
        return;
    };
    if timeline.longest_gap.as_micros() == 0 {
        return;
    }
    let start_s = start.as_secs_f64();
    let end_s = start_s + timeline.longest_gap.as_secs_f64();
    let (x0, x1) = (scale.map(start_s), scale.map(end_s));
    let label = format!("gap {}", duration_label(end_s - start_s));
    if x1 - x0 < axis::estimate_text_width(&label, 11.0) + 8.0 {
        return;
    }
    let y = (top + bottom - LANE_GAP) / 2.0 + 4.0;
    let backdrop = r#"fill-opacity="0.85" rx="3""#;
    let width = axis::estimate_text_width(&label, 11.0) + 8.0;
    let middle = (x0 + x1) / 2.0;
    svg.rect(
        middle - width / 2.0,
        y - 12.0,
        width,
        16.0,
        "#ffffff",
        backdrop,
    );
    svg.text(
        middle,
        y,
        &label,
        TextStyle::new(11.0, Anchor::Middle).fill("#555555"),
    );
}

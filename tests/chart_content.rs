//! What each chart shows, read back from its SVG: the series, the fault markers and their
//! legend, the lock holders per queue, the periods with two believers, the signed-log axis of
//! the lateness CDF and its p50/p99/max markers. Each check is paired with an input that
//! lacks the thing checked, so that it can fail.

mod chart_svg;

use chart_svg::{alert_red, series_color, Chart, Element};
use simrq::event::Name;
use simrq::report::chart;
use simrq::report::scheduler_gaps::{DualPeriod, HolderInterval, QueueLockTimeline};
use simrq::report::{
    LogHistogram, OutputDir, QueueSample, QueueSeries, Sample, SchedulerGapReport, TimeseriesCsv,
};
use simrq::review::charts::{line_chart, Line, LineChart};
use simrq::sim::{SimDuration, SimTime};

/// Polylines of at least `min_points` points in `color`: series, not swatches or dashes.
fn long_lines<'a>(chart: &'a Chart, color: &str, min_points: usize) -> Vec<&'a Element> {
    chart
        .find("polyline", "stroke", color)
        .into_iter()
        .filter(|line| line.points().len() >= min_points)
        .collect()
}

/// The x positions of vertical polyline pieces in `color` (dashed marker lines).
fn vertical_marks(chart: &Chart, color: &str) -> Vec<f64> {
    let mut xs: Vec<f64> = chart
        .find("polyline", "stroke", color)
        .into_iter()
        .map(|line| line.points())
        .filter(|points| points.len() == 2 && points[0].0 == points[1].0)
        .map(|points| points[0].0)
        .collect();
    xs.dedup();
    xs
}

fn y_of(chart: &Chart, text: &str) -> f64 {
    chart
        .text(text)
        .unwrap_or_else(|| panic!("no text {text:?}"))
        .number("y")
}

/// The x of a tick label under the x axis (centred, unlike the y axis's right-aligned ones).
fn x_tick(chart: &Chart, label: &str) -> f64 {
    chart
        .with_tag("text")
        .find(|t| t.content == label && t.attr("text-anchor") == "middle")
        .unwrap_or_else(|| panic!("no x tick {label:?}: {:?}", chart.texts()))
        .number("x")
}

/// Two queues sampled every 10 s for 10 minutes: `default` busy, `high` with scheduled jobs.
fn two_queues(root: &std::path::Path) -> Vec<QueueSeries> {
    let dir = OutputDir::create(root, false).unwrap();
    let mut writer = TimeseriesCsv::create(&dir).unwrap();
    let sample = |queue: &str, depth: u64, scheduled: u64| QueueSample {
        queue: Name::from(queue),
        depth,
        scheduled,
        started: 0,
        failed: 0,
        finished: 0,
        lock_holder: None,
    };
    for second in (0..600).step_by(10) {
        let queues = vec![
            sample("default", second % 70, 0),
            sample("high", 5, second / 60),
        ];
        let row = Sample {
            time: SimTime::from_secs(second),
            queues,
            live_workers: 1,
            busy_workers: 0,
        };
        writer.write(&row).unwrap();
    }
    writer.finish().unwrap()
}

#[test]
fn queue_depth_draws_each_queue_solid_and_dashed_and_numbers_each_fault() {
    let root = tempfile::tempdir().unwrap();
    let series = two_queues(root.path());
    let faults = [
        (SimTime::from_secs(90), "pod_kill worker-0".to_string()),
        (SimTime::from_secs(300), "redis_restart".to_string()),
    ];
    let end = SimTime::from_secs(600);
    let svg = Chart::parse(&chart::queue_depth_svg(&series, &faults, end));
    for label in ["queue default", "queue high", "scheduled", "fault (2)"] {
        assert!(
            svg.has_text(label),
            "legend {label} missing: {:?}",
            svg.texts()
        );
    }
    for queue in 0..2 {
        let color = series_color(queue);
        // The depth: one solid line through all 60 samples.
        assert_eq!(long_lines(&svg, &color, 60).len(), 1, "queue {queue}");
        // The scheduled set: dashed, so many short pieces in the same colour.
        let dashes = svg.find("polyline", "stroke", &color).len();
        assert!(dashes > 20, "queue {queue}: {dashes} pieces");
    }
    let marks = vertical_marks(&svg, &alert_red());
    assert_eq!(marks.len(), 2, "{marks:?}");
    assert!(marks[0] < marks[1]);
    for number in ["1", "2"] {
        assert_eq!(
            svg.with_tag("text").filter(|t| t.content == number).count(),
            2
        );
    }
    assert!(svg.has_text("90 s: pod_kill worker-0"), "{:?}", svg.texts());
    assert!(svg.has_text("5 min: redis_restart"));
    // Within the x axis: the tick labels are in minutes here.
    assert!(svg.has_text("time since start (s)") || svg.has_text("time since start (min)"));

    let quiet = Chart::parse(&chart::queue_depth_svg(&series, &[], end));
    assert!(quiet.texts_starting("fault").is_empty());
    assert!(vertical_marks(&quiet, &alert_red()).is_empty());
    assert!(quiet.texts_starting("90 s").is_empty());
    assert_eq!(long_lines(&quiet, &series_color(0), 60).len(), 1);
}

fn interval(holder: Option<&str>, start_s: u64, end_s: u64) -> HolderInterval {
    HolderInterval {
        holder: holder.map(Name::from),
        start: SimTime::from_secs(start_s),
        end: SimTime::from_secs(end_s),
    }
}

/// Queue `default`: s1, a 10 s gap, then s2, with s1 and s2 both believing for 2 s; queue
/// `emails`: s3 throughout.
fn two_queue_locks(with_two_believers: bool) -> SchedulerGapReport {
    let dual = DualPeriod {
        start: SimTime::from_secs(45),
        end: SimTime::from_secs(47),
        schedulers: vec![Name::from("s1"), Name::from("s2")],
    };
    let timeline = |queue: &str, intervals, dual_periods: Vec<DualPeriod>, gap_s: u64| {
        let dual_total = if dual_periods.is_empty() { 0.0 } else { 2.0 };
        QueueLockTimeline {
            queue: Name::from(queue),
            intervals,
            dual_periods,
            longest_gap: SimDuration::from_secs_f64(gap_s as f64),
            longest_gap_start: (gap_s > 0).then(|| SimTime::from_secs(40)),
            longest_lock_absent: SimDuration::from_secs_f64(gap_s as f64),
            longest_lock_absent_start: (gap_s > 0).then(|| SimTime::from_secs(40)),
            dual_total: SimDuration::from_secs_f64(dual_total),
            truncated: false,
        }
    };
    let default_intervals = vec![
        interval(Some("s1"), 0, 40),
        interval(None, 40, 50),
        interval(Some("s2"), 50, 100),
    ];
    let duals = if with_two_believers {
        vec![dual]
    } else {
        vec![]
    };
    SchedulerGapReport {
        end: SimTime::from_secs(100),
        queues: vec![
            timeline("default", default_intervals, duals, 10),
            timeline("emails", vec![interval(Some("s3"), 0, 100)], vec![], 0),
        ],
    }
}

#[test]
fn lock_timeline_shows_each_queues_holders_in_its_own_panel_and_marks_two_believers() {
    let svg = Chart::parse(&chart::lock_timeline_svg(&two_queue_locks(true)));
    let default = svg.texts_starting("queue default");
    assert_eq!(default.len(), 1, "{:?}", svg.texts());
    assert!(
        default[0]
            .content
            .contains("two believers for 2 s in 1 period"),
        "{}",
        default[0].content
    );
    let emails = svg.texts_starting("queue emails");
    assert_eq!(emails.len(), 1);
    assert!(!emails[0].content.contains("two believers"));
    // Holders are rows of their own queue's panel.
    let (default_y, emails_y) = (default[0].number("y"), emails[0].number("y"));
    for holder in ["s1", "s2"] {
        let y = y_of(&svg, holder);
        assert!(default_y < y && y < emails_y, "{holder} at {y}");
    }
    assert!(
        y_of(&svg, "s1") < y_of(&svg, "s2"),
        "lanes in order of first holding"
    );
    assert!(y_of(&svg, "s3") > emails_y);
    // Bars in the lane colours: s2 is the default queue's second lane.
    let s2_bars = svg.find("rect", "fill", &series_color(1));
    assert_eq!(s2_bars.len(), 1);
    let s2_y = s2_bars[0].number("y");
    assert!(default_y < s2_y && s2_y < emails_y);
    // The gap: a light box with hatching, labelled with its length.
    assert!(
        svg.find("rect", "fill", "#F1F1F1").len() >= 2,
        "legend and gap"
    );
    assert!(!svg.find("polyline", "stroke", "#C9C9C9").is_empty());
    assert!(svg.has_text("gap 10 s"), "{:?}", svg.texts());
    // Two believers: a translucent red box over the lanes and a red triangle above it.
    let boxes: Vec<_> = svg
        .find("rect", "fill", &alert_red())
        .into_iter()
        .filter(|rect| rect.attr("opacity") != "1")
        .collect();
    assert_eq!(boxes.len(), 1, "{boxes:?}");
    assert!(boxes[0].number("y") > default_y && boxes[0].number("y") < emails_y);
    assert_eq!(svg.find("polygon", "fill", &alert_red()).len(), 1);
    assert!(svg.has_text("two schedulers believe they hold it"));

    let calm = Chart::parse(&chart::lock_timeline_svg(&two_queue_locks(false)));
    assert!(calm.find("polygon", "fill", &alert_red()).is_empty());
    let red_boxes = calm.find("rect", "fill", &alert_red());
    assert!(
        red_boxes.iter().all(|rect| rect.attr("opacity") == "1"),
        "legend only"
    );
    assert!(!calm.texts_starting("queue default")[0]
        .content
        .contains("two believers"));

    let quiet = Chart::parse(&chart::lock_timeline_svg(&SchedulerGapReport::default()));
    assert!(quiet.has_text("no scheduler lock was observed"));
}

/// Lateness from −0.5 s to 61 s, in microseconds.
fn spread_lateness() -> LogHistogram {
    let mut lateness = LogHistogram::new();
    for micros in [
        -500_000, 50_000, 1_000_000, 1_200_000, 2_000_000, 61_000_000,
    ] {
        lateness.record(micros);
    }
    lateness
}

#[test]
fn lateness_cdf_has_a_signed_log_axis_and_marks_p50_p99_and_max() {
    let svg = Chart::parse(&chart::retry_lateness_svg(&spread_lateness()));
    let ticks = ["-1", "-0.1", "0", "0.1", "1", "10", "100"];
    let xs: Vec<f64> = ticks.iter().map(|t| x_tick(&svg, t)).collect();
    assert!(xs.windows(2).all(|w| w[0] < w[1]), "ticks in order: {xs:?}");
    // Signed: mirrored around zero. Logarithmic beyond ±0.1 s: decades about equally apart.
    let (zero, decade) = (xs[2], xs[5] - xs[4]);
    assert!(((zero - xs[1]) - (xs[3] - zero)).abs() <= 1.0, "{xs:?}");
    assert!(((xs[6] - xs[5]) - decade).abs() <= decade * 0.1, "{xs:?}");
    assert!(svg.has_text("lateness (s; logarithmic beyond ±0.1 s)"));
    // The CDF: one staircase from 0 % to 100 %, rising to the right.
    let cdf = long_lines(&svg, &series_color(0), 6);
    assert_eq!(cdf.len(), 1);
    let points = cdf[0].points();
    assert!(points
        .windows(2)
        .all(|w| w[0].0 <= w[1].0 && w[0].1 >= w[1].1));
    for (mark, color) in [
        ("p50 ", "#555555"),
        ("p99 ", "#555555"),
        ("max ", &alert_red()),
    ] {
        let labels = svg.texts_starting(mark);
        assert_eq!(labels.len(), 1, "{mark}: {:?}", svg.texts());
        assert_eq!(labels[0].attr("fill"), color, "{mark}");
    }
    assert!(svg.has_text("max 61 s"), "{:?}", svg.texts());
    assert_eq!(vertical_marks(&svg, &alert_red()).len(), 1, "the max line");
    assert!(
        !vertical_marks(&svg, "#555555").is_empty(),
        "the p50 and p99 lines"
    );

    let empty = Chart::parse(&chart::retry_lateness_svg(&LogHistogram::new()));
    assert!(empty.has_text("no interval retry started in this run"));
    assert!(empty.texts_starting("p50").is_empty());
    assert!(long_lines(&empty, &series_color(0), 2).is_empty());
}

#[test]
fn the_review_line_chart_draws_each_line_its_dots_and_the_slo() {
    let lines = vec![
        Line {
            label: "100 jobs/s".into(),
            points: vec![(1.0, 9.0), (2.0, 4.0), (3.0, 2.0)],
        },
        Line {
            label: "200 jobs/s".into(),
            points: vec![(1.0, 12.0), (2.0, 6.0), (3.0, 3.0)],
        },
    ];
    let mut chart = LineChart {
        title: "p99 queue wait",
        subtitle: "",
        x_title: "replicas",
        y_title: "p99 wait (s)",
        steps: false,
        limit: Some((5.0, "SLO 5 s".into())),
    };
    let svg = Chart::parse(&line_chart(&chart, &lines));
    for label in [
        "100 jobs/s",
        "200 jobs/s",
        "SLO 5 s",
        "replicas",
        "p99 wait (s)",
    ] {
        assert!(svg.has_text(label), "{label}: {:?}", svg.texts());
    }
    assert_eq!(
        long_lines(&svg, &series_color(0), 3).len(),
        1,
        "the first line, solid"
    );
    assert!(
        svg.find("polyline", "stroke", &series_color(1)).len() > 3,
        "dashed"
    );
    assert_eq!(
        svg.find("circle", "fill", &series_color(0)).len(),
        3,
        "one dot a point"
    );
    let slo = svg.find("polyline", "stroke", &alert_red());
    assert!(slo
        .iter()
        .any(|piece| piece.points()[0].1 == piece.points()[1].1));

    chart.limit = None;
    let plain = Chart::parse(&line_chart(&chart, &lines));
    assert!(plain.find("polyline", "stroke", &alert_red()).is_empty());
    assert!(!plain.has_text("SLO 5 s"));
}

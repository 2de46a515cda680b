//! Scales, "nice" ticks, time units and the drawing of axes with grid lines.

use crate::report::chart::svg::{num, Anchor, Svg, TextStyle};

/// Axis and grid colours.
pub const AXIS_COLOR: &str = "#666666";
pub const GRID_COLOR: &str = "#e6e6e6";
pub const TICK_TEXT: TextStyle = TextStyle::new(11.0, Anchor::Middle).fill("#555555");

/// Maps a data interval onto a pixel interval, linearly.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    pub domain: (f64, f64),
    pub range: (f64, f64),
}

impl Scale {
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Scale {
        let domain = if domain.1 > domain.0 {
            domain
        } else {
            (domain.0, domain.0 + 1.0)
        };
        Scale { domain, range }
    }

    pub fn map(&self, value: f64) -> f64 {
        let fraction = (value - self.domain.0) / (self.domain.1 - self.domain.0);
        self.range.0 + fraction * (self.range.1 - self.range.0)
    }
}

/// About `target` round tick values (steps of 1, 2 or 5 × 10^k) covering `[low, high]`.
pub fn nice_ticks(low: f64, high: f64, target: usize) -> Vec<f64> {
    let step = nice_step(low, high, target);
    let first = (low / step).ceil() as i64;
    let last = (high / step + 1e-9).floor() as i64;
    (first..=last).map(|i| i as f64 * step).collect()
}

/// The tick step [`nice_ticks`] uses.
pub fn nice_step(low: f64, high: f64, target: usize) -> f64 {
    let span = (high - low).abs().max(1e-9);
    let raw = span / target.max(1) as f64;
    let magnitude = 10f64.powf(raw.log10().floor());
    let residual = raw / magnitude;
    // The nearest of 1, 2, 5 and 10, so the tick count stays close to the target.
    let nice = if residual < 1.5 {
        1.0
    } else if residual < 3.0 {
        2.0
    } else if residual < 7.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// A tick label with as many decimals as the step needs.
pub fn tick_label(value: f64, step: f64) -> String {
    let decimals = (-step.log10().floor()).max(0.0) as usize;
    let text = format!("{value:.decimals$}");
    if text.starts_with('-') && text.trim_start_matches(['-', '0', '.']).is_empty() {
        text[1..].to_string()
    } else {
        text
    }
}

/// A count axis from zero: `(top, step, ticks)`, the top a round number a little above `max`
/// and the step a whole number.
pub fn count_axis(max: f64) -> (f64, f64, Vec<f64>) {
    let headroom = (max * 1.05).max(1.0);
    let step = nice_step(0.0, headroom, 5).max(1.0);
    let top = (headroom / step).ceil() * step;
    let ticks = (0..=(top / step).round() as i64)
        .map(|i| i as f64 * step)
        .collect();
    (top, step, ticks)
}

/// The unit a time axis is labelled in, chosen from the run's length.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
}

impl TimeUnit {
    pub fn for_span_s(span_s: f64) -> TimeUnit {
        if span_s <= 600.0 {
            TimeUnit::Seconds
        } else if span_s <= 4.0 * 3_600.0 {
            TimeUnit::Minutes
        } else {
            TimeUnit::Hours
        }
    }

    pub fn seconds(self) -> f64 {
        match self {
            TimeUnit::Seconds => 1.0,
            TimeUnit::Minutes => 60.0,
            TimeUnit::Hours => 3_600.0,
        }
    }

    pub fn axis_title(self) -> &'static str {
        match self {
            TimeUnit::Seconds => "time since start (s)",
            TimeUnit::Minutes => "time since start (min)",
            TimeUnit::Hours => "time since start (h)",
        }
    }
}

/// The plot area of a chart, in pixels.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Area {
    pub left: f64,
    pub top: f64,
    pub right: f64,
    pub bottom: f64,
}

impl Area {
    pub fn width(&self) -> f64 {
        self.right - self.left
    }

    pub fn height(&self) -> f64 {
        self.bottom - self.top
    }
}

/// Draws x ticks, labels and vertical grid lines under `area`, for values in data units.
pub fn x_axis(svg: &mut Svg, area: Area, scale: Scale, ticks: &[f64], step: f64, title: &str) {
    let labelled: Vec<(f64, String)> = ticks
        .iter()
        .map(|&tick| (scale.map(tick), tick_label(tick, step)))
        .collect();
    x_axis_at(svg, area, &labelled, title);
}

/// Draws an x axis with ticks at given pixel positions, with their labels.
pub fn x_axis_at(svg: &mut Svg, area: Area, ticks: &[(f64, String)], title: &str) {
    for (x, label) in ticks {
        svg.line((*x, area.top), (*x, area.bottom), GRID_COLOR, 1.0, "");
        svg.line(
            (*x, area.bottom),
            (*x, area.bottom + 4.0),
            AXIS_COLOR,
            1.0,
            "",
        );
        svg.text(*x, area.bottom + 17.0, label, TICK_TEXT);
    }
    svg.line(
        (area.left, area.bottom),
        (area.right, area.bottom),
        AXIS_COLOR,
        1.0,
        "",
    );
    let title_style = TextStyle::new(12.0, Anchor::Middle).fill("#333333");
    let middle = (area.left + area.right) / 2.0;
    svg.text(middle, area.bottom + 36.0, title, title_style);
}

/// Draws y ticks, labels and horizontal grid lines left of `area`.
pub fn y_axis(svg: &mut Svg, area: Area, scale: Scale, ticks: &[f64], step: f64, title: &str) {
    let label_style = TextStyle::new(11.0, Anchor::End).fill("#555555");
    for &tick in ticks {
        let y = scale.map(tick);
        svg.line((area.left, y), (area.right, y), GRID_COLOR, 1.0, "");
        svg.line((area.left - 4.0, y), (area.left, y), AXIS_COLOR, 1.0, "");
        svg.text(
            area.left - 7.0,
            y + 4.0,
            &tick_label(tick, step),
            label_style,
        );
    }
    svg.line(
        (area.left, area.top),
        (area.left, area.bottom),
        AXIS_COLOR,
        1.0,
        "",
    );
    let title_style = TextStyle::new(12.0, Anchor::Middle).fill("#333333");
    let middle = (area.top + area.bottom) / 2.0;
    svg.text_rotated(area.left - 48.0, middle, title, title_style, -90.0);
}

/// A legend entry: a colour swatch (a filled box, or a line with a dash pattern) and a label.
pub struct LegendItem<'a> {
    pub label: &'a str,
    pub color: &'a str,
    pub swatch: Swatch,
}

/// How a legend swatch is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swatch {
    Box,
    Line,
    Dashed,
    /// A box filled with the named pattern (`url(#…)`) given as the colour.
    Pattern,
}

/// Draws a horizontal legend starting at `(x, y)`; returns its right edge.
pub fn legend(svg: &mut Svg, x: f64, y: f64, items: &[LegendItem<'_>]) -> f64 {
    let style = TextStyle::new(11.5, Anchor::Start).fill("#333333");
    let mut cursor = x;
    for item in items {
        match item.swatch {
            Swatch::Box | Swatch::Pattern => {
                let border = r##"stroke="#999999" stroke-width="0.5""##;
                svg.rect(cursor, y - 9.0, 14.0, 10.0, item.color, border);
            }
            Swatch::Line => svg.line(
                (cursor, y - 4.0),
                (cursor + 14.0, y - 4.0),
                item.color,
                2.0,
                "",
            ),
            Swatch::Dashed => svg.line(
                (cursor, y - 4.0),
                (cursor + 14.0, y - 4.0),
                item.color,
                2.0,
                r#"stroke-dasharray="4 2""#,
            ),
        }
        svg.text(cursor + 19.0, y, item.label, style);
        cursor += 19.0 + estimate_text_width(item.label, 11.5) + 18.0;
    }
    cursor
}

/// A text's width, estimated (the SVG is written before any font is known).
pub fn estimate_text_width(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.58
}

/// A chart title and subtitle at the top left.
pub fn title(svg: &mut Svg, x: f64, title: &str, subtitle: &str) {
    svg.text(
        x,
        24.0,
        title,
        TextStyle::new(16.0, Anchor::Start).bold().fill("#222222"),
    );
    if !subtitle.is_empty() {
        svg.text(
            x,
            42.0,
            subtitle,
            TextStyle::new(11.5, Anchor::Start).fill("#666666"),
        );
    }
}

/// A short duration for labels: `45 s`, `13.5 min`, `2.25 h`.
pub fn duration_label(seconds: f64) -> String {
    if seconds.abs() < 120.0 {
        format!("{} s", num(seconds))
    } else if seconds.abs() < 2.0 * 3_600.0 {
        format!("{} min", num(seconds / 60.0))
    } else {
        format!("{} h", num(seconds / 3_600.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        assert_eq!(nice_ticks(-3.0, 12.0, 3), [0.0, 5.0, 10.0]);
        assert_eq!(nice_ticks(0.0, 1.0, 2), [0.0, 0.5, 1.0]);
        let labels: Vec<String> = nice_ticks(0.0, 1.0, 5)
            .iter()
            .map(|&tick| tick_label(tick, 0.2))
            .collect();
        assert_eq!(labels, ["0.0", "0.2", "0.4", "0.6", "0.8", "1.0"]);
        assert_eq!(tick_label(0.4, 0.2), "0.4");
        assert_eq!(tick_label(20.0, 20.0), "20");
    }

    #[test]
    fn scales_map_linearly_and_tolerate_an_empty_domain() {
        let scale = Scale::new((0.0, 10.0), (100.0, 200.0));
        assert_eq!(scale.map(5.0), 150.0);
        let flat = Scale::new((3.0, 3.0), (0.0, 10.0));
        assert!(flat.map(3.0).is_finite());
    }

    #[test]
    fn the_time_unit_follows_the_run_length() {
        assert_eq!(TimeUnit::for_span_s(300.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_span_s(3_600.0), TimeUnit::Minutes);
        assert_eq!(TimeUnit::for_span_s(6.0 * 3_600.0), TimeUnit::Hours);
        assert_eq!(count_axis(87.0).0, 100.0);
        assert_eq!(count_axis(96_412.0).0, 120_000.0);
        assert_eq!(count_axis(0.0), (1.0, 1.0, vec![0.0, 1.0]));
    }
}

//! What every chart shares: the SVG document plotters draws into, fonts, the title, legends,
//! time axes and the labels of durations and counts.

use std::ops::Range;

use plotters::coord::ranged1d::{KeyPointHint, NoDefaultFormatting, ValueFormatter};
use plotters::coord::Shift;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

/// The font stack of every chart; resvg picks the first one installed. Plotters only writes
/// the name into the SVG: it reads no font file (the crate's `ttf` feature is off).
pub const FONT_FAMILY: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

/// Axis, grid and text colours.
pub const AXIS_COLOR: RGBColor = RGBColor(0x66, 0x66, 0x66);
pub const GRID_COLOR: RGBColor = RGBColor(0xe6, 0xe6, 0xe6);
pub const TEXT_COLOR: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub const MUTED_TEXT: RGBColor = RGBColor(0x55, 0x55, 0x55);
pub const GREY: RGBColor = RGBColor(0x77, 0x77, 0x77);

/// The drawing area of a whole chart.
pub type Root<'a> = DrawingArea<SVGBackend<'a>, Shift>;
/// What drawing returns; writing into a `String` cannot fail, so an error is a simrq bug.
pub type Drawn = Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draws a `width` × `height` chart on white and returns the SVG document.
pub fn svg_document(width: u32, height: u32, draw: impl FnOnce(&Root<'_>) -> Drawn) -> String {
    let mut document = String::new();
    {
        let root = SVGBackend::with_string(&mut document, (width, height)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .expect("drawing a chart into a String");
    }
    // Plotters ends the document with "</svg>"; files end with a newline.
    if !document.ends_with('\n') {
        document.push('\n');
    }
    document
}

/// A text style: `size` is the font size in SVG pixels. Plotters writes `size / 1.24` into the
/// SVG (its point-to-pixel factor), so the factor is applied here.
pub fn font(size: f64, color: RGBColor, h: HPos, v: VPos) -> TextStyle<'static> {
    FontDesc::new(
        FontFamily::Name(FONT_FAMILY),
        size * 1.24,
        FontStyle::Normal,
    )
    .color(&color)
    .pos(Pos::new(h, v))
}

/// The same style in bold.
pub fn bold(style: TextStyle<'static>) -> TextStyle<'static> {
    let font = style.font.style(FontStyle::Bold);
    TextStyle { font, ..style }
}

/// Tick labels and axis titles.
pub fn tick_font() -> TextStyle<'static> {
    font(11.0, MUTED_TEXT, HPos::Center, VPos::Center)
}

/// Labels left of a y axis, right-aligned against it.
pub fn y_tick_font() -> TextStyle<'static> {
    font(11.0, MUTED_TEXT, HPos::Right, VPos::Center)
}

pub fn axis_title_font() -> TextStyle<'static> {
    font(12.0, TEXT_COLOR, HPos::Center, VPos::Center)
}

/// Draws `content` at pixel `(x, y)` of `root`.
pub fn text(root: &Root<'_>, at: (i32, i32), content: &str, style: &TextStyle<'_>) -> Drawn {
    root.draw(&Text::new(content.to_string(), at, style.clone()))
}

/// A chart title and subtitle at the top left.
pub fn title(root: &Root<'_>, x: i32, title: &str, subtitle: &str) -> Drawn {
    let heading = bold(font(
        16.0,
        RGBColor(0x22, 0x22, 0x22),
        HPos::Left,
        VPos::Bottom,
    ));
    text(root, (x, 28), title, &heading)?;
    if subtitle.is_empty() {
        return Ok(());
    }
    let small = font(11.5, RGBColor(0x66, 0x66, 0x66), HPos::Left, VPos::Bottom);
    text(root, (x, 46), subtitle, &small)
}

/// A text's width, estimated: the SVG is written before any font is known, and plotters' own
/// estimate (without its `ttf` feature) counts bytes, not characters.
pub fn estimate_text_width(text: &str, size: f64) -> i32 {
    (text.chars().count() as f64 * size * 0.58).round() as i32
}

/// How a legend swatch is drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Swatch {
    Box,
    Line,
    Dashed,
    /// A light box with diagonal strokes: the lock timeline's "no holder".
    Hatched,
}

/// A legend entry: a swatch in a colour and a label.
pub struct LegendItem<'a> {
    pub label: &'a str,
    pub color: RGBColor,
    pub swatch: Swatch,
}

/// Draws a horizontal legend whose text baseline is at `(x, y)`; returns its right edge.
pub fn legend(root: &Root<'_>, x: i32, y: i32, items: &[LegendItem<'_>]) -> Drawn {
    let style = font(11.5, TEXT_COLOR, HPos::Left, VPos::Center);
    let mut cursor = x;
    for item in items {
        swatch(root, (cursor, y), item)?;
        text(root, (cursor + 19, y), item.label, &style)?;
        cursor += 19 + estimate_text_width(item.label, 11.5) + 18;
    }
    Ok(())
}

fn swatch(root: &Root<'_>, (x, y): (i32, i32), item: &LegendItem<'_>) -> Drawn {
    let border = RGBColor(0x99, 0x99, 0x99);
    let (top_left, bottom_right) = ((x, y - 5), (x + 14, y + 5));
    match item.swatch {
        Swatch::Box => {
            root.draw(&Rectangle::new(
                [top_left, bottom_right],
                item.color.filled(),
            ))?;
            root.draw(&Rectangle::new([top_left, bottom_right], border))
        }
        Swatch::Hatched => {
            root.draw(&Rectangle::new(
                [top_left, bottom_right],
                item.color.filled(),
            ))?;
            hatch(root, top_left, bottom_right)?;
            root.draw(&Rectangle::new([top_left, bottom_right], border))
        }
        Swatch::Line => root.draw(&PathElement::new(
            vec![(x, y), (x + 14, y)],
            item.color.stroke_width(2),
        )),
        Swatch::Dashed => {
            let style = item.color.stroke_width(2);
            root.draw(&DashedPathElement::new(
                vec![(x, y), (x + 15, y)],
                4,
                2,
                style,
            ))
        }
    }
}

/// The stroke of a hatched region: darker than its light grey fill.
pub const HATCH_COLOR: RGBColor = RGBColor(0xc9, 0xc9, 0xc9);

/// Diagonal strokes every 7 px across the pixel rectangle (`top_left`, `bottom_right`), each
/// cut at its edges. Plotters has no fill patterns, so the strokes are drawn one by one.
pub fn hatch(root: &Root<'_>, top_left: (i32, i32), bottom_right: (i32, i32)) -> Drawn {
    let ((left, top), (right, bottom)) = (top_left, bottom_right);
    let height = bottom - top;
    // A stroke rises to the right: it starts on the bottom edge at `start` (possibly left of
    // the box) and would reach the top edge at `start + height`.
    let mut start = left - height + (left - height).rem_euclid(7);
    while start < right {
        let (x0, y0) = if start < left {
            (left, bottom - (left - start))
        } else {
            (start, bottom)
        };
        let end = start + height;
        let (x1, y1) = if end > right {
            (right, top + (end - right))
        } else {
            (end, top)
        };
        root.draw(&PathElement::new(
            vec![(x0, y0), (x1, y1)],
            HATCH_COLOR.stroke_width(2),
        ))?;
        start += 7;
    }
    Ok(())
}

/// A linear f64 axis whose ticks are exactly `ticks` (bar centres, decades of a transformed
/// axis). Plotters' `with_key_points` does the same but its f64 form cannot take a label
/// formatter, which every such axis needs.
pub struct FixedTicks {
    range: Range<f64>,
    ticks: Vec<f64>,
}

impl FixedTicks {
    pub fn new(range: Range<f64>, ticks: Vec<f64>) -> FixedTicks {
        FixedTicks { range, ticks }
    }
}

impl Ranged for FixedTicks {
    type FormatOption = NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let span = self.range.end - self.range.start;
        let fraction = (value - self.range.start) / span;
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        self.ticks.clone()
    }

    fn range(&self) -> Range<f64> {
        self.range.clone()
    }
}

impl ValueFormatter<f64> for FixedTicks {
    fn format(value: &f64) -> String {
        num(*value)
    }
}

/// A number with at most two decimals, trailing zeros removed (`12`, `3.5`, `-0.25`).
pub fn num(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let mut text = format!("{value:.2}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" {
        text = "0".into();
    }
    text
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

/// The top of a count axis from zero: a round number a little above `max`, at least 1, so
/// that the axis ends on a tick (plotters picks ticks inside the range, not the range).
pub fn count_top(max: f64) -> f64 {
    let headroom = (max * 1.05).max(1.0);
    // A step of 1, 2 or 5 × 10^k giving about five ticks.
    let raw = headroom / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    // The nearest of 1, 2, 5 and 10, so the tick count stays close to five.
    let nice = [(1.5, 1.0), (3.0, 2.0), (7.0, 5.0)]
        .into_iter()
        .find(|(below, _)| raw / magnitude < *below)
        .map_or(10.0, |(_, nice)| nice);
    let step = (nice * magnitude).max(1.0);
    (headroom / step).ceil() * step
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_have_at_most_two_decimals_and_no_negative_zero() {
        assert_eq!(num(12.0), "12");
        assert_eq!(num(3.5), "3.5");
        assert_eq!(num(-0.001), "0");
        assert_eq!(num(1.23456), "1.23");
        assert_eq!(num(f64::NAN), "0");
    }

    #[test]
    fn the_time_unit_follows_the_run_length() {
        assert_eq!(TimeUnit::for_span_s(300.0), TimeUnit::Seconds);
        assert_eq!(TimeUnit::for_span_s(3_600.0), TimeUnit::Minutes);
        assert_eq!(TimeUnit::for_span_s(6.0 * 3_600.0), TimeUnit::Hours);
        assert_eq!(count_top(0.0), 1.0);
        assert_eq!(count_top(87.0), 100.0);
        assert_eq!(count_top(96_412.0), 120_000.0);
    }

    #[test]
    fn text_is_escaped_and_the_document_is_closed() {
        let document = svg_document(100, 50, |root| {
            let style = font(12.0, TEXT_COLOR, HPos::Center, VPos::Center);
            text(root, (1, 2), "a < b & \"c\"", &style)
        });
        assert!(document.contains("a &lt; b &amp;"), "{document}");
        assert!(document.starts_with("<svg "), "{document}");
        assert!(document.ends_with("</svg>\n"), "{document}");
    }
}

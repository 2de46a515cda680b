//! A minimal SVG writer: plain string building with fixed number formatting, so that the same
//! chart gives the same bytes on every machine.

use std::fmt::Write;

/// The font stack of every chart; resvg picks the first one installed.
pub const FONT_FAMILY: &str = "DejaVu Sans, Helvetica, Arial, sans-serif";

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

/// Text escaped for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            _ => escaped.push(c),
        }
    }
    escaped
}

/// Horizontal anchoring of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

impl Anchor {
    fn name(self) -> &'static str {
        match self {
            Anchor::Start => "start",
            Anchor::Middle => "middle",
            Anchor::End => "end",
        }
    }
}

/// How a text looks.
#[derive(Clone, Copy, Debug)]
pub struct TextStyle {
    pub size: f64,
    pub anchor: Anchor,
    pub fill: &'static str,
    pub bold: bool,
}

impl TextStyle {
    pub const fn new(size: f64, anchor: Anchor) -> TextStyle {
        TextStyle {
            size,
            anchor,
            fill: "#333333",
            bold: false,
        }
    }

    pub const fn bold(self) -> TextStyle {
        TextStyle { bold: true, ..self }
    }

    pub const fn fill(self, fill: &'static str) -> TextStyle {
        TextStyle { fill, ..self }
    }
}

/// An SVG document being built.
pub struct Svg {
    width: f64,
    height: f64,
    defs: String,
    body: String,
}

impl Svg {
    pub fn new(width: f64, height: f64) -> Svg {
        Svg {
            width,
            height,
            defs: String::new(),
            body: String::new(),
        }
    }

    pub fn width(&self) -> f64 {
        self.width
    }

    pub fn height(&self) -> f64 {
        self.height
    }

    /// Adds raw markup to `<defs>` (patterns, clip paths).
    pub fn def(&mut self, markup: &str) {
        self.defs.push_str(markup);
        self.defs.push('\n');
    }

    /// A rectangle; `extra` holds further attributes (`stroke="…"`), or is empty.
    pub fn rect(&mut self, x: f64, y: f64, width: f64, height: f64, fill: &str, extra: &str) {
        let (x, y, w, h) = (num(x), num(y), num(width.max(0.0)), num(height.max(0.0)));
        let space = if extra.is_empty() { "" } else { " " };
        writeln!(
            self.body,
            r#"<rect x="{x}" y="{y}" width="{w}" height="{h}" fill="{fill}"{space}{extra}/>"#
        )
        .expect("writing to a String");
    }

    /// A straight line; `extra` holds further attributes (`stroke-dasharray="4 3"`).
    pub fn line(
        &mut self,
        from: (f64, f64),
        to: (f64, f64),
        stroke: &str,
        width: f64,
        extra: &str,
    ) {
        let space = if extra.is_empty() { "" } else { " " };
        writeln!(
            self.body,
            concat!(
                r#"<line x1="{}" y1="{}" x2="{}" y2="{}" "#,
                r#"stroke="{stroke}" stroke-width="{}"{space}{extra}/>"#
            ),
            num(from.0),
            num(from.1),
            num(to.0),
            num(to.1),
            num(width),
            stroke = stroke,
            space = space,
            extra = extra,
        )
        .expect("writing to a String");
    }

    /// An open polyline through `points`.
    pub fn polyline(&mut self, points: &[(f64, f64)], stroke: &str, width: f64, extra: &str) {
        if points.is_empty() {
            return;
        }
        let mut coordinates = String::with_capacity(points.len() * 12);
        for (index, (x, y)) in points.iter().enumerate() {
            if index > 0 {
                coordinates.push(' ');
            }
            write!(coordinates, "{},{}", num(*x), num(*y)).expect("writing to a String");
        }
        let space = if extra.is_empty() { "" } else { " " };
        writeln!(
            self.body,
            concat!(
                r#"<polyline points="{coordinates}" fill="none" stroke="{stroke}" "#,
                r#"stroke-width="{}" stroke-linejoin="round"{space}{extra}/>"#
            ),
            num(width),
            coordinates = coordinates,
            stroke = stroke,
            space = space,
            extra = extra,
        )
        .expect("writing to a String");
    }

    /// A filled circle.
    pub fn circle(&mut self, center: (f64, f64), radius: f64, fill: &str) {
        let (x, y, r) = (num(center.0), num(center.1), num(radius));
        writeln!(
            self.body,
            r#"<circle cx="{x}" cy="{y}" r="{r}" fill="{fill}"/>"#
        )
        .expect("writing to a String");
    }

    /// A filled polygon.
    pub fn polygon(&mut self, points: &[(f64, f64)], fill: &str) {
        let coordinates: Vec<String> = points
            .iter()
            .map(|(x, y)| format!("{},{}", num(*x), num(*y)))
            .collect();
        let coordinates = coordinates.join(" ");
        writeln!(
            self.body,
            r#"<polygon points="{coordinates}" fill="{fill}"/>"#
        )
        .expect("writing to a String");
    }

    /// A text at `(x, y)` (the baseline).
    pub fn text(&mut self, x: f64, y: f64, content: &str, style: TextStyle) {
        self.text_with(x, y, content, style, "");
    }

    /// A text rotated by `degrees` around its anchor point.
    pub fn text_rotated(&mut self, x: f64, y: f64, content: &str, style: TextStyle, degrees: f64) {
        let transform = format!(
            r#"transform="rotate({} {} {})""#,
            num(degrees),
            num(x),
            num(y)
        );
        self.text_with(x, y, content, style, &transform);
    }

    fn text_with(&mut self, x: f64, y: f64, content: &str, style: TextStyle, extra: &str) {
        let weight = if style.bold {
            r#" font-weight="bold""#
        } else {
            ""
        };
        let space = if extra.is_empty() { "" } else { " " };
        writeln!(
            self.body,
            concat!(
                r#"<text x="{}" y="{}" font-size="{}" text-anchor="{}" fill="{}""#,
                r#"{weight}{space}{extra}>{}</text>"#
            ),
            num(x),
            num(y),
            num(style.size),
            style.anchor.name(),
            style.fill,
            escape(content),
            weight = weight,
            space = space,
            extra = extra,
        )
        .expect("writing to a String");
    }

    /// The finished document.
    pub fn finish(self) -> String {
        let (w, h) = (num(self.width), num(self.height));
        let mut document = String::with_capacity(self.body.len() + self.defs.len() + 400);
        writeln!(
            document,
            concat!(
                r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" "#,
                r#"viewBox="0 0 {w} {h}" font-family="{FONT_FAMILY}">"#
            ),
            w = w,
            h = h,
            FONT_FAMILY = FONT_FAMILY,
        )
        .expect("writing to a String");
        if !self.defs.is_empty() {
            writeln!(document, "<defs>\n{}</defs>", self.defs).expect("writing to a String");
        }
        writeln!(
            document,
            r##"<rect width="{w}" height="{h}" fill="#ffffff"/>"##
        )
        .expect("writing to a String");
        document.push_str(&self.body);
        document.push_str("</svg>\n");
        document
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
    fn text_is_escaped_and_the_document_is_closed() {
        let mut svg = Svg::new(100.0, 50.0);
        svg.text(
            1.0,
            2.0,
            "a < b & \"c\"",
            TextStyle::new(12.0, Anchor::Middle),
        );
        let document = svg.finish();
        assert!(
            document.contains(">a &lt; b &amp; &quot;c&quot;</text>"),
            "{document}"
        );
        assert!(document.starts_with("<svg "));
        assert!(document.ends_with("</svg>\n"));
    }
}

//! A small reader of the charts' SVG, for tests that check what a chart shows (its texts,
//! lines, boxes and markers) rather than its bytes.

#![allow(dead_code)]

use std::collections::BTreeMap;

use simrq::report::chart::{ALERT_RED, PALETTE};

/// A colour as the SVG writes it: `#4E79A7`.
fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02X}{g:02X}{b:02X}")
}

/// The colour of series `index`.
pub fn series_color(index: usize) -> String {
    let color = PALETTE[index % PALETTE.len()];
    hex((color.0, color.1, color.2))
}

/// The colour of faults, failures and two believers.
pub fn alert_red() -> String {
    hex((ALERT_RED.0, ALERT_RED.1, ALERT_RED.2))
}

/// A drawn element: its tag, its attributes and, for a `<text>`, its content.
#[derive(Clone, Debug)]
pub struct Element {
    pub tag: String,
    pub attrs: BTreeMap<String, String>,
    pub content: String,
}

impl Element {
    pub fn attr(&self, name: &str) -> &str {
        self.attrs.get(name).map_or("", String::as_str)
    }

    pub fn number(&self, name: &str) -> f64 {
        self.attr(name).parse().unwrap_or(f64::NAN)
    }

    /// A polyline's or polygon's points.
    pub fn points(&self) -> Vec<(f64, f64)> {
        self.attr("points")
            .split_whitespace()
            .filter_map(|pair| pair.split_once(','))
            .map(|(x, y)| (x.parse().unwrap(), y.parse().unwrap()))
            .collect()
    }
}

/// Every element of a chart, in drawing order.
pub struct Chart {
    pub elements: Vec<Element>,
}

impl Chart {
    pub fn parse(svg: &str) -> Chart {
        assert!(
            svg.starts_with("<svg ") && svg.trim_end().ends_with("</svg>"),
            "{svg}"
        );
        let mut elements = Vec::new();
        let mut rest = svg;
        while let Some(start) = rest.find('<') {
            rest = &rest[start + 1..];
            if rest.starts_with('/') {
                continue;
            }
            let end = rest.find('>').expect("a closed tag");
            let tag_text = rest[..end].trim_end_matches('/');
            let (tag, attrs) = tag_text.split_once(' ').unwrap_or((tag_text, ""));
            let mut element = Element {
                tag: tag.to_string(),
                attrs: attributes(attrs),
                content: String::new(),
            };
            rest = &rest[end + 1..];
            if tag == "text" {
                let close = rest.find("</text>").expect("a closed text");
                element.content = unescape(rest[..close].trim());
            }
            elements.push(element);
        }
        Chart { elements }
    }

    /// The texts, in drawing order.
    pub fn texts(&self) -> Vec<&str> {
        self.with_tag("text").map(|e| e.content.as_str()).collect()
    }

    pub fn text(&self, content: &str) -> Option<&Element> {
        self.with_tag("text").find(|e| e.content == content)
    }

    pub fn has_text(&self, content: &str) -> bool {
        self.text(content).is_some()
    }

    /// Texts starting with `prefix`.
    pub fn texts_starting(&self, prefix: &str) -> Vec<&Element> {
        self.with_tag("text")
            .filter(|e| e.content.starts_with(prefix))
            .collect()
    }

    pub fn with_tag<'a>(&'a self, tag: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements.iter().filter(move |e| e.tag == tag)
    }

    /// Elements of `tag` whose `attr` is `value` (`polyline`, `stroke`, `#D62728`).
    pub fn find(&self, tag: &str, attr: &str, value: &str) -> Vec<&Element> {
        self.elements
            .iter()
            .filter(|e| e.tag == tag && e.attr(attr) == value)
            .collect()
    }
}

fn attributes(text: &str) -> BTreeMap<String, String> {
    let mut attrs = BTreeMap::new();
    let mut rest = text;
    while let Some(eq) = rest.find("=\"") {
        let name = rest[..eq].trim().to_string();
        let after = &rest[eq + 2..];
        let close = after.find('"').expect("a closed attribute");
        attrs.insert(name, unescape(&after[..close]));
        rest = &after[close + 1..];
    }
    attrs
}

fn unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

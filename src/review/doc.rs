//! A report as a list of blocks, rendered twice: Markdown (charts as SVG files beside it) and
//! one self-contained HTML page (the same SVG inlined), so both say exactly the same thing.

/// One block of a report.
#[derive(Clone, Debug)]
pub enum Block {
    Heading(u8, String),
    /// A paragraph; `code` spans in backticks are kept.
    Paragraph(String),
    Bullets(Vec<String>),
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A chart: its file name (without extension), caption and SVG.
    Chart {
        name: String,
        caption: String,
        svg: String,
    },
    Code(String),
}

/// Text escaped for HTML content and attribute values.
fn escape(text: &str) -> String {
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

/// Markdown; charts refer to `charts/<name>.svg`.
pub fn markdown(blocks: &[Block]) -> String {
    let mut text = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, title) => {
                text.push_str(&format!("{} {title}\n\n", "#".repeat(usize::from(*level))));
            }
            Block::Paragraph(body) => text.push_str(&format!("{body}\n\n")),
            Block::Bullets(items) => {
                for item in items {
                    text.push_str(&format!("- {item}\n"));
                }
                text.push('\n');
            }
            Block::Table { header, rows } => {
                text.push_str(&format!("| {} |\n", header.join(" | ")));
                text.push_str(&format!("|{}\n", "---|".repeat(header.len())));
                for row in rows {
                    text.push_str(&format!("| {} |\n", row.join(" | ")));
                }
                text.push('\n');
            }
            Block::Chart { name, caption, .. } => {
                text.push_str(&format!(
                    "![{caption}](charts/{name}.svg)\n\n*{caption}*\n\n"
                ));
            }
            Block::Code(body) => text.push_str(&format!("```toml\n{body}```\n\n")),
        }
    }
    text
}

/// Text with `code` spans as `<code>`, everything escaped.
fn inline(text: &str) -> String {
    let mut html = String::new();
    for (i, part) in text.split('`').enumerate() {
        let part = escape(part).replace("**", "");
        if i % 2 == 1 {
            html.push_str(&format!("<code>{part}</code>"));
        } else {
            html.push_str(&part);
        }
    }
    html
}

const STYLE: &str = "body{font-family:DejaVu Sans,Helvetica,Arial,sans-serif;max-width:1040px;\
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}table{border-collapse:collapse;\
margin:1em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}\
th{background:#f3f3f3}td:first-child,th:first-child{text-align:left}code{background:#f3f3f3;\
padding:0 0.2em}pre{background:#f6f6f6;padding:0.8em;overflow:auto;font-size:0.85em}\
figure{margin:1.5em 0}figcaption{color:#555;font-size:0.9em}svg{max-width:100%;height:auto}";

/// One HTML page with the charts' SVG inlined: nothing else to fetch.
pub fn html(title: &str, blocks: &[Block]) -> String {
    let mut page = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n\
         <style>{STYLE}</style>\n</head>\n<body>\n",
        escape(title)
    );
    for block in blocks {
        page.push_str(&html_block(block));
    }
    page.push_str("</body>\n</html>\n");
    page
}

fn html_block(block: &Block) -> String {
    match block {
        Block::Heading(level, title) => format!("<h{level}>{}</h{level}>\n", inline(title)),
        Block::Paragraph(body) => format!("<p>{}</p>\n", inline(body)),
        Block::Bullets(items) => {
            let items: String = items
                .iter()
                .map(|i| format!("<li>{}</li>\n", inline(i)))
                .collect();
            format!("<ul>\n{items}</ul>\n")
        }
        Block::Table { header, rows } => {
            let head: String = header
                .iter()
                .map(|h| format!("<th>{}</th>", inline(h)))
                .collect();
            let body: String = rows
                .iter()
                .map(|row| {
                    let cells: String = row
                        .iter()
                        .map(|c| format!("<td>{}</td>", inline(c)))
                        .collect();
                    format!("<tr>{cells}</tr>\n")
                })
                .collect();
            format!("<table>\n<tr>{head}</tr>\n{body}</table>\n")
        }
        Block::Chart { svg, caption, .. } => {
            let svg = svg.trim_start_matches(|c| c != '<');
            let svg = match svg.find("<svg") {
                Some(start) => &svg[start..],
                None => svg,
            };
            format!(
                "<figure>\n{svg}\n<figcaption>{}</figcaption>\n</figure>\n",
                inline(caption)
            )
        }
        Block::Code(body) => format!("<pre>{}</pre>\n", escape(body)),
    }
}

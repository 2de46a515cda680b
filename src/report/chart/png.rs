//! PNG copies of the SVG charts, rendered with resvg.
//!
//! Fonts come from the system (`fontdb::Database::load_system_fonts`), loaded once per
//! process. With no fonts installed the PNG is still written, without its text; CI installs
//! `fonts-dejavu-core` so that labels render, and the same fonts give the same bytes.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia;
use resvg::usvg::{self, fontdb};

/// Pixels per SVG unit: charts are drawn at 2× for sharp text on high-density screens.
pub const PNG_SCALE: f32 = 2.0;

fn system_fonts() -> Arc<fontdb::Database> {
    static FONTS: OnceLock<Arc<fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut database = fontdb::Database::new();
            database.load_system_fonts();
            // fontdb does not read fontconfig's aliases; name the usual sans-serif face.
            database.set_sans_serif_family("DejaVu Sans");
            Arc::new(database)
        })
        .clone()
}

/// Whether any system font was found (text renders only then).
pub fn fonts_available() -> bool {
    !system_fonts().is_empty()
}

/// Renders an SVG document to PNG bytes, with the system's fonts.
pub fn render_png(svg: &str) -> Result<Vec<u8>, String> {
    render_png_with_fonts(svg, system_fonts())
}

/// Renders with the given fonts; text whose font is missing is left out, not an error.
pub fn render_png_with_fonts(svg: &str, fonts: Arc<fontdb::Database>) -> Result<Vec<u8>, String> {
    let options = usvg::Options {
        fontdb: fonts,
        font_family: "DejaVu Sans".to_string(),
        ..usvg::Options::default()
    };
    let tree = usvg::Tree::from_str(svg, &options).map_err(|e| e.to_string())?;
    let size = tree.size();
    let width = (size.width() * PNG_SCALE).ceil() as u32;
    let height = (size.height() * PNG_SCALE).ceil() as u32;
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .ok_or_else(|| format!("cannot make a {width}×{height} image"))?;
    let transform = tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE);
    resvg::render(&tree, transform, &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_small_svg_renders_to_a_png_of_twice_its_size() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="10" height="5">
<rect width="10" height="5" fill="#ff0000"/><text x="1" y="4" font-size="4">a</text></svg>"##;
        let png = render_png(svg).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        let width = u32::from_be_bytes(png[16..20].try_into().unwrap());
        let height = u32::from_be_bytes(png[20..24].try_into().unwrap());
        assert_eq!((width, height), (20, 10));
    }

    #[test]
    fn without_any_font_the_png_is_still_rendered() {
        let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20">
<rect width="40" height="20" fill="#00ff00"/>
<text x="1" y="15" font-size="12">label</text></svg>"##;
        let no_fonts = Arc::new(fontdb::Database::new());
        let png = render_png_with_fonts(svg, no_fonts).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn a_broken_svg_is_an_error_not_a_panic() {
        assert!(render_png("<svg").is_err());
    }
}

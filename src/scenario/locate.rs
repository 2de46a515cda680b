//! Where each key of a TOML document sits: a map from key paths such as `pods[1].replicas` to
//! byte spans, so every error can name a line, a column and a key.
//!
//! The document is walked once through the `toml` deserializer using the span protocol of
//! `serde_spanned`. Unlike `Spanned<T>`, this walk also accepts values that carry no span
//! (implicit tables created by dotted keys, for example), so it never fails on valid TOML.

use std::ops::Range;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_spanned::__unstable::{END_FIELD, NAME, START_FIELD, VALUE_FIELD};

const SPAN_FIELDS: &[&str] = &[START_FIELD, END_FIELD, VALUE_FIELD];

/// Every key and value of a document with its byte span, in document order.
#[derive(Debug, Default)]
pub struct SpanIndex {
    entries: Vec<Entry>,
}

#[derive(Debug)]
struct Entry {
    path: String,
    span: Range<usize>,
    is_key: bool,
}

impl SpanIndex {
    /// Indexes `text`; an unparsable document gives an empty index.
    pub fn build(text: &str) -> SpanIndex {
        let mut index = SpanIndex::default();
        if let Ok(root) = toml::from_str::<Shape>(text) {
            index.walk(&root, "");
        }
        index
    }

    /// The key path of the innermost key or value whose span contains `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&str> {
        self.entries
            .iter()
            .filter(|entry| {
                entry.span.start <= offset && offset < entry.span.end.max(entry.span.start + 1)
            })
            .min_by_key(|entry| (entry.span.len(), !entry.is_key))
            .map(|entry| entry.path.as_str())
    }

    /// The span of the value at `path` (or of its key), falling back to the nearest enclosing
    /// key that the document spells out, since defaults have no place in the text.
    pub fn span_of(&self, path: &str) -> Option<Range<usize>> {
        let mut candidate = path;
        loop {
            let found = self
                .find(candidate, false)
                .or_else(|| self.find(candidate, true));
            if found.is_some() {
                return found;
            }
            candidate = parent_path(candidate)?;
        }
    }

    fn find(&self, path: &str, is_key: bool) -> Option<Range<usize>> {
        self.entries
            .iter()
            .find(|entry| entry.path == path && entry.is_key == is_key)
            .map(|entry| entry.span.clone())
    }

    fn walk(&mut self, shape: &Shape, prefix: &str) {
        match shape {
            Shape::Table(children) => {
                for (key, value) in children {
                    let path = join_key(prefix, &key.name);
                    self.push(&path, key.span.clone(), true);
                    self.push(&path, value.span.clone(), false);
                    self.walk(&value.shape, &path);
                }
            }
            Shape::Array(items) => {
                for (position, item) in items.iter().enumerate() {
                    let path = format!("{prefix}[{position}]");
                    self.push(&path, item.span.clone(), false);
                    self.walk(&item.shape, &path);
                }
            }
            Shape::Leaf => {}
        }
    }

    fn push(&mut self, path: &str, span: Option<Range<usize>>, is_key: bool) {
        if let Some(span) = span {
            self.entries.push(Entry {
                path: path.to_string(),
                span,
                is_key,
            });
        }
    }
}

/// `pods[1].replicas` → `pods[1]` → `pods` → none.
pub fn parent_path(path: &str) -> Option<&str> {
    let cut = path.rfind(['.', '['])?;
    Some(&path[..cut])
}

/// Appends a key to a path, quoting keys that are not bare TOML keys.
pub fn join_key(prefix: &str, key: &str) -> String {
    let bare = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    let key = if bare {
        key.to_string()
    } else {
        format!("{key:?}")
    };
    if prefix.is_empty() {
        key
    } else {
        format!("{prefix}.{key}")
    }
}

/// The structure of a value, without its content.
#[derive(Debug)]
enum Shape {
    Table(Vec<(LocatedKey, Located)>),
    Array(Vec<Located>),
    Leaf,
}

#[derive(Debug)]
struct Located {
    span: Option<Range<usize>>,
    shape: Shape,
}

#[derive(Debug)]
struct LocatedKey {
    span: Option<Range<usize>>,
    name: String,
}

impl<'de> Deserialize<'de> for Shape {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer
            .deserialize_any(ShapeVisitor)
            .map(|located| located.shape)
    }
}

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(NAME, SPAN_FIELDS, ShapeVisitor)
    }
}

impl<'de> Deserialize<'de> for LocatedKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_struct(NAME, SPAN_FIELDS, KeyVisitor)
    }
}

struct ShapeVisitor;

fn leaf<E>() -> Result<Located, E> {
    Ok(Located {
        span: None,
        shape: Shape::Leaf,
    })
}

impl<'de> Visitor<'de> for ShapeVisitor {
    type Value = Located;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any TOML value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Located, E> {
        leaf()
    }
    fn visit_i64<E>(self, _: i64) -> Result<Located, E> {
        leaf()
    }
    fn visit_u64<E>(self, _: u64) -> Result<Located, E> {
        leaf()
    }
    fn visit_f64<E>(self, _: f64) -> Result<Located, E> {
        leaf()
    }
    fn visit_str<E>(self, _: &str) -> Result<Located, E> {
        leaf()
    }
    fn visit_unit<E>(self) -> Result<Located, E> {
        leaf()
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        Ok(Located {
            span: None,
            shape: Shape::Array(items),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let Some(first) = map.next_key::<LocatedKey>()? else {
            return Ok(Located {
                span: None,
                shape: Shape::Table(Vec::new()),
            });
        };
        if first.name == START_FIELD {
            return read_spanned(map);
        }
        let mut children = vec![(first, map.next_value::<Located>()?)];
        while let Some(key) = map.next_key::<LocatedKey>()? {
            children.push((key, map.next_value::<Located>()?));
        }
        Ok(Located {
            span: None,
            shape: Shape::Table(children),
        })
    }
}

/// The rest of a `serde_spanned` envelope: start (already keyed), end, value.
fn read_spanned<'de, A: MapAccess<'de>>(mut map: A) -> Result<Located, A::Error> {
    let start = map.next_value::<usize>()?;
    expect_key(&mut map, END_FIELD)?;
    let end = map.next_value::<usize>()?;
    expect_key(&mut map, VALUE_FIELD)?;
    let shape = map.next_value::<Shape>()?;
    Ok(Located {
        span: Some(start..end),
        shape,
    })
}

fn expect_key<'de, A: MapAccess<'de>>(map: &mut A, wanted: &str) -> Result<(), A::Error> {
    match map.next_key::<String>()? {
        Some(name) if name == wanted => Ok(()),
        _ => Err(de::Error::custom("malformed span envelope")),
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = LocatedKey;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E>(self, name: &str) -> Result<LocatedKey, E> {
        Ok(LocatedKey {
            span: None,
            name: name.to_string(),
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<LocatedKey, A::Error> {
        expect_key(&mut map, START_FIELD)?;
        let start = map.next_value::<usize>()?;
        expect_key(&mut map, END_FIELD)?;
        let end = map.next_value::<usize>()?;
        expect_key(&mut map, VALUE_FIELD)?;
        let name = map.next_value::<String>()?;
        Ok(LocatedKey {
            span: Some(start..end),
            name,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOCUMENT: &str = "[run]\nduration = \"1h\"\n\n[[pods]]\nname = \"a\"\n\n[[pods]]\n\
                            name = \"b\"\nreplicas = 3\nrollout.max_surge = 2\n";

    fn line_of(text: &str, offset: usize) -> usize {
        text[..offset].matches('\n').count() + 1
    }

    #[test]
    fn finds_array_elements_and_dotted_keys() {
        let index = SpanIndex::build(DOCUMENT);
        let replicas = index
            .span_of("pods[1].replicas")
            .expect("replicas is indexed");
        assert_eq!(&DOCUMENT[replicas.clone()], "3");
        assert_eq!(line_of(DOCUMENT, replicas.start), 9);
        let surge = index
            .span_of("pods[1].rollout.max_surge")
            .expect("dotted key is indexed");
        assert_eq!(&DOCUMENT[surge], "2");
    }

    #[test]
    fn maps_an_offset_back_to_its_key_path() {
        let index = SpanIndex::build(DOCUMENT);
        let offset = DOCUMENT.find("replicas").unwrap();
        assert_eq!(index.path_at(offset), Some("pods[1].replicas"));
        let offset = DOCUMENT.find("\"1h\"").unwrap();
        assert_eq!(index.path_at(offset), Some("run.duration"));
    }

    #[test]
    fn falls_back_to_the_enclosing_key_for_defaults() {
        let index = SpanIndex::build(DOCUMENT);
        let span = index
            .span_of("pods[0].replicas")
            .expect("falls back to pods[0]");
        assert_eq!(line_of(DOCUMENT, span.start), 4);
    }

    #[test]
    fn parent_paths_strip_one_level() {
        assert_eq!(parent_path("pods[1].replicas"), Some("pods[1]"));
        assert_eq!(parent_path("pods[1]"), Some("pods"));
        assert_eq!(parent_path("pods"), None);
    }
}

//! Errors a user can cause with a scenario file, each naming the file, line, column and key.

use std::fmt;

use super::locate::SpanIndex;
use super::suggest::nearest;

/// What went wrong, for callers that branch on it (tests, the `validate` command).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// The file could not be read.
    Io,
    /// The bytes are not UTF-8 text (a binary file, or another encoding).
    Encoding,
    /// Not valid TOML.
    Syntax,
    /// A key that this table does not have.
    UnknownKey,
    /// A value of the wrong type, out of range, or inconsistent with another.
    InvalidValue,
    /// No `[[pods]]` or no `[[workload]]`.
    Empty,
    /// A name that refers to nothing, or two things with one name.
    Reference,
}

/// A 1-based line and column (in characters) inside the scenario file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// A scenario the user must fix. Displays as `file:line:column: key: message`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub location: Option<Location>,
    /// The key path, such as `pods[1].replicas`, when the error belongs to one key.
    pub key: Option<String>,
    pub kind: ErrorKind,
    pub message: String,
}

impl std::error::Error for ScenarioError {}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(Location { line, column }) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if let Some(key) = &self.key {
            write!(f, ": {key}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl ScenarioError {
    pub fn new(file: &str, kind: ErrorKind, message: impl Into<String>) -> ScenarioError {
        ScenarioError {
            file: file.to_string(),
            location: None,
            key: None,
            kind,
            message: message.into(),
        }
    }

    pub fn at(mut self, location: Location) -> ScenarioError {
        self.location = Some(location);
        self
    }

    pub fn with_key(mut self, key: impl Into<String>) -> ScenarioError {
        self.key = Some(key.into());
        self
    }
}

/// The line and column of a byte offset; offsets past the end or inside a character are
/// clamped, so any offset is safe.
pub fn location_of(text: &str, offset: usize) -> Location {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
    Location {
        line: before.matches('\n').count() + 1,
        column: before[line_start..].chars().count() + 1,
    }
}

/// Turns a `toml` error into a located error with a key path and, for typos, a suggestion.
pub fn from_toml(
    error: &toml::de::Error,
    text: &str,
    file: &str,
    index: &SpanIndex,
) -> ScenarioError {
    let raw = error.message().trim();
    let (mut kind, message) = rewrite_message(raw);
    // serde reports wrong values; the TOML parser reports text that is not TOML at all.
    if text.parse::<toml::Table>().is_err() {
        kind = ErrorKind::Syntax;
    }
    let mut result = ScenarioError::new(file, kind, message);
    if let Some(span) = error.span() {
        result = result.at(location_of(text, span.start));
        if let Some(path) = index.path_at(span.start) {
            result = result.with_key(path);
        }
    }
    result
}

/// serde's wording, for a TOML reader: "field" becomes "key", and unknown names get the
/// nearest valid one.
fn rewrite_message(raw: &str) -> (ErrorKind, String) {
    for (prefix, noun) in [("unknown field", "key"), ("unknown variant", "value")] {
        if let Some(rest) = raw.strip_prefix(prefix) {
            let names = backticked(rest);
            let Some((typed, valid)) = names.split_first() else {
                continue;
            };
            let mut message = format!("unknown {noun} `{typed}`");
            if let Some(best) = nearest(typed, valid) {
                message.push_str(&format!("; did you mean `{best}`?"));
            }
            if valid.is_empty() {
                message.push_str(" (this table takes no keys)");
            } else {
                let list: Vec<String> = valid.iter().map(|name| format!("`{name}`")).collect();
                message.push_str(&format!(" (expected one of {})", list.join(", ")));
            }
            let kind = if noun == "key" {
                ErrorKind::UnknownKey
            } else {
                ErrorKind::InvalidValue
            };
            return (kind, message);
        }
    }
    if let Some(rest) = raw.strip_prefix("missing field") {
        return (ErrorKind::InvalidValue, format!("missing key{rest}"));
    }
    // The TOML parser writes "what was found" and "what was expected" on separate lines.
    let one_line: Vec<&str> = raw
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    (ErrorKind::InvalidValue, one_line.join("; "))
}

/// The names between backticks, in order.
fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_count_lines_and_characters() {
        let text = "a = 1\nbé = 2\n";
        assert_eq!(location_of(text, 0), Location { line: 1, column: 1 });
        assert_eq!(location_of(text, 6), Location { line: 2, column: 1 });
        assert_eq!(location_of(text, 9), Location { line: 2, column: 3 });
        assert_eq!(
            location_of(text, 8),
            Location { line: 2, column: 2 },
            "inside 'é'"
        );
        assert_eq!(location_of(text, 999).line, 3);
    }

    #[test]
    fn unknown_fields_get_a_suggestion() {
        let (kind, message) =
            rewrite_message("unknown field `replica`, expected `name` or `replicas`");
        assert_eq!(kind, ErrorKind::UnknownKey);
        assert!(message.contains("did you mean `replicas`?"), "{message}");
    }

    #[test]
    fn display_has_the_compiler_form() {
        let error = ScenarioError::new("s.toml", ErrorKind::InvalidValue, "too many")
            .at(Location {
                line: 3,
                column: 12,
            })
            .with_key("pods[1].replicas");
        assert_eq!(error.to_string(), "s.toml:3:12: pods[1].replicas: too many");
    }
}

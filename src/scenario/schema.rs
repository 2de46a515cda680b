//! The JSON Schema of scenario files, for editors (e.g. Taplo or VS Code "Even Better TOML")
//! to complete keys and check values while typing.

use super::model::Scenario;

/// The schema of [`Scenario`] as pretty-printed JSON.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    // Serializing a schema built from plain data cannot fail; if it ever did it is a bug here.
    serde_json::to_string_pretty(&schema).expect("a JSON Schema always serializes")
}

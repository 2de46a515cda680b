//! The JSON Schema of scenario files, for editors (e.g. Taplo or VS Code "Even Better TOML")
//! to complete keys and check values while typing.

use super::model::Scenario;

/// The schema of [`Scenario`] as pretty-printed JSON.
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Scenario);
    // Serializing a schema built from plain data cannot fail; if it ever did it is a bug here.
    serde_json::to_string_pretty(&schema).expect("a JSON Schema always serializes")
}

/// The schema of a value written either as a `T` or as a string matching `pattern` (a count
/// or a percentage, a size in bytes or with a unit).
pub(super) fn number_or_text<T: schemars::JsonSchema>(
    gen: &mut schemars::gen::SchemaGenerator,
    pattern: &str,
) -> schemars::schema::Schema {
    use schemars::schema::{InstanceType, SchemaObject, SubschemaValidation};
    let mut text = SchemaObject {
        instance_type: Some(InstanceType::String.into()),
        ..Default::default()
    };
    text.string().pattern = Some(pattern.into());
    let number = gen.subschema_for::<T>();
    SchemaObject {
        subschemas: Some(Box::new(SubschemaValidation {
            any_of: Some(vec![number, text.into()]),
            ..Default::default()
        })),
        ..Default::default()
    }
    .into()
}

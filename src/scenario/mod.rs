//! Scenario files: the TOML that describes a deployment, its workload, its faults and the
//! checks that decide a run's verdict.
//!
//! ```text
//!   bytes ──parse_bytes──► text ──toml + serde──► Scenario ──validate──► errors / warnings
//!                           │                        ▲
//!                           └──SpanIndex (key path ↔ line:column)
//! ```
//!
//! Start with [`Scenario`] (the shape, with every default) and [`parse`]. Every error a user
//! can cause comes back as a [`ScenarioError`] that names the file, line, column and key path,
//! in the `file:line:column: key: message` form; nothing here panics on any input.
//! `docs/scenario-format.md` describes each key for users.

mod bytes;
mod cron;
mod distribution;
mod errors;
mod faults;
mod locate;
mod model;
mod pods;
mod rate;
mod schema;
mod suggest;
mod validate;
mod workload;

use std::path::Path;

pub use bytes::ByteSize;
pub use cron::{CronSpec, CRON_RESULT_TTL};
pub use distribution::Distribution;
pub use errors::{ErrorKind, Location, ScenarioError};
pub use faults::{ClockOffset, FaultKind, FaultSpec, NetMode, Persistence, Target};
pub use model::{
    AppendFsync, CalibrationSpec, ChecksSpec, ClientDiscovery, EventRows, MaxmemoryPolicy,
    RedisSpec, RqSpec, RqVariant, RunSpec, Scenario,
};
pub use pods::{CountOrPercent, CrashLoopBackoff, PodSpec, RestartPolicy, Rollout};
pub use rate::Rate;
pub use schema::json_schema;
pub use suggest::{edit_distance, nearest};
pub use validate::{validate, Findings, Issue};
pub use workload::{
    Arrival, Bursts, Daily, DependsOnSpec, RepeatSpec, RetrySpec, ReturnRetrySpec, WebhookOn,
    WebhookSpec, WorkloadSpec,
};

use errors::location_of;
use locate::SpanIndex;

/// A scenario that passed every check, with the warnings found on the way, each formatted as
/// `file:line:column: key: message`.
#[derive(Clone, Debug, PartialEq)]
pub struct Loaded {
    pub scenario: Scenario,
    pub warnings: Vec<String>,
}

/// Reads, parses and validates a scenario file.
pub fn load(path: &Path) -> Result<Scenario, ScenarioError> {
    load_with_warnings(path).map(|loaded| loaded.scenario)
}

/// [`load`], keeping the warnings.
pub fn load_with_warnings(path: &Path) -> Result<Loaded, ScenarioError> {
    let file = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|error| {
        ScenarioError::new(
            &file,
            ErrorKind::Io,
            format!("cannot read the scenario: {error}"),
        )
    })?;
    parse_bytes_with_warnings(&bytes, &file)
}

/// Parses and validates scenario text; `file_name` is only used in messages.
pub fn parse(text: &str, file_name: &str) -> Result<Scenario, ScenarioError> {
    parse_with_warnings(text, file_name).map(|loaded| loaded.scenario)
}

/// [`parse`] for raw bytes: invalid UTF-8 is reported at its line and column.
pub fn parse_bytes(bytes: &[u8], file_name: &str) -> Result<Scenario, ScenarioError> {
    parse_bytes_with_warnings(bytes, file_name).map(|loaded| loaded.scenario)
}

fn parse_bytes_with_warnings(bytes: &[u8], file_name: &str) -> Result<Loaded, ScenarioError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_with_warnings(text, file_name),
        Err(error) => {
            let valid = &bytes[..error.valid_up_to()];
            // The prefix up to `valid_up_to` is valid UTF-8 by definition.
            let text = std::str::from_utf8(valid).unwrap_or_default();
            let message = if bytes.contains(&0) {
                "this is a binary file, not a TOML scenario (invalid UTF-8)"
            } else {
                "invalid UTF-8: a scenario file must be UTF-8 text"
            };
            Err(ScenarioError::new(file_name, ErrorKind::Encoding, message)
                .at(location_of(text, text.len())))
        }
    }
}

/// [`parse`], keeping the warnings.
pub fn parse_with_warnings(text: &str, file_name: &str) -> Result<Loaded, ScenarioError> {
    if text.contains('\0') {
        let offset = text.find('\0').unwrap_or(0);
        let error = ScenarioError::new(
            file_name,
            ErrorKind::Encoding,
            "this is a binary file, not a TOML scenario (NUL byte)",
        );
        return Err(error.at(location_of(text, offset)));
    }
    let index = SpanIndex::build(text);
    let scenario: Scenario =
        toml::from_str(text).map_err(|error| errors::from_toml(&error, text, file_name, &index))?;
    let findings = validate(&scenario);
    let locate = |issue: &Issue| {
        let mut error = ScenarioError::new(file_name, issue.kind, issue.message.clone())
            .with_key(issue.path.clone());
        let offset = index.span_of(&issue.path).map_or(0, |span| span.start);
        error.location = Some(location_of(text, offset));
        error
    };
    if let Some(first) = findings.errors.first() {
        return Err(locate(first));
    }
    let warnings = findings
        .warnings
        .iter()
        .map(|issue| format!("warning: {}", locate(issue)))
        .collect();
    Ok(Loaded { scenario, warnings })
}

impl Scenario {
    /// Reads, parses and validates a scenario file (warnings are dropped; see
    /// [`load_with_warnings`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Scenario, ScenarioError> {
        load(path.as_ref())
    }

    /// Parses and validates scenario text, as in a file.
    pub fn from_toml(text: &str) -> Result<Scenario, ScenarioError> {
        parse(text, "scenario.toml")
    }

    /// The scenario as a TOML file that [`parse`] reads back to an equal value (used to save
    /// shrunk scenarios). Defaults are written out, so the file is self-contained.
    pub fn to_toml(&self) -> String {
        // Every type here serializes to TOML-compatible data (tables after values, no None);
        // a failure would be a bug in these types, not in user input.
        toml::to_string_pretty(self).expect("a Scenario always serializes to TOML")
    }
}

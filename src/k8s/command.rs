//! A container's command line, read the way its shell and RQ 2.12's `rq worker` read it.
//!
//! Kubernetes gives a container an argv (`command` then `args`). Workers are started in a few
//! shapes, and each decides whether the worker itself receives the pod's SIGTERM (`pid1`):
//!
//! ```text
//! rq worker -s high default            the worker is PID 1
//! python -m rq.cli worker high         the same, through the module
//! tini -- rq worker high               an init that forwards signals: as PID 1
//! sh -c "exec rq worker high"          the shell replaces itself: as PID 1
//! sh -c "rq worker high"               one simple command: bash and dash exec it
//! sh -c "cd /app && rq worker high"    the shell stays PID 1 (bash); the worker never
//!                                      sees SIGTERM and dies by SIGKILL at the grace period
//! ```
//!
//! The options are `rq worker`'s in RQ 2.12 (`rq/cli/workers.py` and the shared options of
//! `rq/cli/helpers.py`); each is sorted into what simrq models, what changes nothing simrq
//! models (logging, the Redis URL), what changes RQ's behaviour in a way simrq does not model,
//! and what RQ itself does not know. None is dropped without a word.

use std::collections::BTreeMap;

/// What the manifest's `rq worker` command line asks for.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WorkerCommand {
    pub queues: Vec<String>,
    pub with_scheduler: bool,
    pub burst: bool,
    pub max_jobs: Option<u32>,
    pub name: Option<String>,
    pub worker_class: Option<String>,
    pub worker_ttl_s: Option<u64>,
    pub maintenance_interval_s: Option<u64>,
    pub job_monitoring_interval_s: Option<u64>,
    pub results_ttl_s: Option<u64>,
    /// The worker receives the pod's SIGTERM itself.
    pub pid1: bool,
    /// Notes for the reader: options that change nothing simrq models, options it does not
    /// model, unknown options, bad values, and the assumptions made about the shell.
    pub notes: Vec<String>,
}

/// What a container runs, as far as calibration cares.
#[derive(Clone, Debug, PartialEq)]
pub enum Program {
    Worker(WorkerCommand),
    /// `rq cron`: its jobs live in a Python file that a manifest does not show.
    Cron,
    /// `rq worker-pool`: several workers under one process, which simrq does not model.
    WorkerPool,
    /// Anything else (a web server, a sidecar).
    Other,
}

/// How an option of `rq worker` bears on the model.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Effect {
    Burst,
    WithScheduler,
    MaxJobs,
    Name,
    WorkerClass,
    WorkerTtl,
    MaintenanceInterval,
    JobMonitoringInterval,
    ResultsTtl,
    DequeueStrategy,
    /// Logging, paths, the Redis URL: nothing simrq models depends on it.
    Inert,
    /// Changes RQ's behaviour in a way simrq does not model.
    Unmodelled(&'static str),
}

struct OptionSpec {
    names: &'static [&'static str],
    takes_value: bool,
    effect: Effect,
}

const fn flag(names: &'static [&'static str], effect: Effect) -> OptionSpec {
    OptionSpec {
        names,
        takes_value: false,
        effect,
    }
}

const fn valued(names: &'static [&'static str], effect: Effect) -> OptionSpec {
    OptionSpec {
        names,
        takes_value: true,
        effect,
    }
}

/// `rq worker`'s options in RQ 2.12, its own and the shared ones.
const WORKER_OPTIONS: &[OptionSpec] = &[
    flag(&["--burst", "-b"], Effect::Burst),
    flag(&["--with-scheduler", "-s"], Effect::WithScheduler),
    valued(&["--max-jobs"], Effect::MaxJobs),
    valued(&["--name", "-n"], Effect::Name),
    valued(&["--worker-class", "-w"], Effect::WorkerClass),
    valued(&["--worker-ttl"], Effect::WorkerTtl),
    valued(&["--maintenance-interval"], Effect::MaintenanceInterval),
    valued(
        &["--job-monitoring-interval"],
        Effect::JobMonitoringInterval,
    ),
    valued(&["--results-ttl"], Effect::ResultsTtl),
    valued(&["--dequeue-strategy", "-ds"], Effect::DequeueStrategy),
    valued(&["--logging_level"], Effect::Inert),
    valued(&["--log-format"], Effect::Inert),
    valued(&["--date-format"], Effect::Inert),
    flag(&["--disable-job-desc-logging"], Effect::Inert),
    flag(&["--verbose", "-v"], Effect::Inert),
    flag(&["--quiet", "-q"], Effect::Inert),
    valued(&["--pid"], Effect::Inert),
    valued(&["--url", "-u"], Effect::Inert),
    valued(&["--path", "-P"], Effect::Inert),
    valued(&["--serializer", "-S"], Effect::Inert),
    valued(
        &["--exception-handler"],
        Effect::Unmodelled(
            "custom exception handlers may keep a failed job from the failed registry",
        ),
    ),
    flag(
        &["--disable-default-exception-handler", "-d"],
        Effect::Unmodelled("without the default handler a failure is handled only by custom ones"),
    ),
    valued(
        &["--max-idle-time"],
        Effect::Unmodelled("the worker exits after this many idle seconds"),
    ),
    valued(
        &["--config", "-c"],
        Effect::Unmodelled(
            "a settings module may set the queues and other options: read it by hand",
        ),
    ),
    valued(
        &["--job-class", "-j"],
        Effect::Unmodelled("a custom job class may change what RQ writes"),
    ),
    valued(
        &["--queue-class"],
        Effect::Unmodelled("a custom queue class may change how jobs are enqueued"),
    ),
    valued(
        &["--connection-class"],
        Effect::Unmodelled("a custom connection class may change timeouts and retries"),
    ),
];

/// What a container runs, from its argv after Kubernetes' `$(VAR)` expansion; `env` holds the
/// container's literal environment (`RQ_WORKER_CLASS` is read as `-w`).
pub fn read_program(argv: &[String], env: &BTreeMap<String, String>) -> Program {
    let launch = unwrap_launch(argv);
    let Some(call) = &launch.rq else {
        return Program::Other;
    };
    match call.subcommand.as_str() {
        "worker" => {
            let mut command = parse_worker_options(&launch.words[call.args_at..]);
            command.pid1 = launch.pid1;
            if command.worker_class.is_none() {
                command.worker_class = env.get("RQ_WORKER_CLASS").cloned();
            }
            if let Some(note) = launch.note {
                command.notes.insert(0, note);
            }
            Program::Worker(command)
        }
        "cron" => Program::Cron,
        "worker-pool" => Program::WorkerPool,
        _ => Program::Other,
    }
}

/// The words of the command that starts RQ, and how it is started.
struct Launch {
    words: Vec<String>,
    rq: Option<RqCall>,
    /// How the shell started it, when that matters to the reader.
    note: Option<String>,
    /// The worker receives the pod's SIGTERM itself.
    pid1: bool,
}

/// `rq <subcommand>` within the words; its options start at `args_at`.
struct RqCall {
    subcommand: String,
    args_at: usize,
}

/// The argv with shells and init wrappers taken off.
fn unwrap_launch(argv: &[String]) -> Launch {
    match shell_script(argv) {
        Some(script) => unwrap_shell(script),
        None => Launch {
            rq: locate_rq(argv),
            words: argv.to_vec(),
            note: None,
            pid1: true,
        },
    }
}

/// `sh -c SCRIPT`, `bash -ec SCRIPT`, …: the script.
fn shell_script(argv: &[String]) -> Option<&str> {
    let program = basename(argv.first()?);
    if !matches!(program, "sh" | "bash" | "dash" | "ash" | "zsh") {
        return None;
    }
    let flags = argv.get(1)?;
    let is_command_flag = flags.starts_with('-') && !flags.starts_with("--") && flags.contains('c');
    is_command_flag
        .then(|| argv.get(2).map(String::as_str))
        .flatten()
}

/// The script's first simple command that runs RQ. Both bash and dash exec a script that is
/// one simple command; a list keeps the shell as PID 1 unless the command says `exec`.
fn unwrap_shell(script: &str) -> Launch {
    let segments = split_shell(script);
    let single = segments.len() == 1;
    for words in segments {
        let Some(rq) = locate_rq(&words) else {
            continue;
        };
        let pid1 = single || words.first().is_some_and(|word| word == "exec");
        let note = (!pid1).then(|| {
            "started by a shell script of several commands without `exec`: bash stays PID 1 and \
             does not pass SIGTERM on, so pid1 = false (dash 0.5.11 and later exec the last \
             command; check with `ps` in the pod)"
                .to_string()
        });
        return Launch {
            words,
            rq: Some(rq),
            note,
            pid1,
        };
    }
    Launch {
        words: Vec::new(),
        rq: None,
        note: None,
        pid1: true,
    }
}

/// Finds `rq <subcommand>`, `rqworker` or `python -m rq.cli <subcommand>` in the words; what
/// comes before (`exec`, `VAR=value`, `tini --`, `poetry run`) is a launcher.
fn locate_rq(words: &[String]) -> Option<RqCall> {
    for (at, word) in words.iter().enumerate() {
        let subcommand_at = match basename(word) {
            "rqworker" => {
                return Some(RqCall {
                    subcommand: "worker".to_string(),
                    args_at: at + 1,
                })
            }
            "rq" => at + 1,
            "-m" if words.get(at + 1).is_some_and(|module| module == "rq.cli") => at + 2,
            _ => continue,
        };
        let subcommand = words.get(subcommand_at).cloned().unwrap_or_default();
        return Some(RqCall {
            subcommand,
            args_at: (subcommand_at + 1).min(words.len()),
        });
    }
    None
}

fn basename(word: &str) -> &str {
    word.rsplit('/').next().unwrap_or(word)
}

/// Splits a shell script into simple commands at `;`, `&&`, `||`, `|`, `&` and newlines, each
/// a list of words with quotes and backslashes resolved. Enough for a container's start line;
/// not a shell.
fn split_shell(script: &str) -> Vec<Vec<String>> {
    let mut segments = vec![Vec::new()];
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                word.extend(chars.by_ref().take_while(|&q| q != '\''));
            }
            '"' => {
                in_word = true;
                while let Some(q) = chars.next() {
                    match q {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(q),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next().filter(|&n| n != '\n'));
            }
            ';' | '&' | '|' | '\n' => {
                end_word(&mut segments, &mut word, &mut in_word);
                if segments.last().is_some_and(|s| !s.is_empty()) {
                    segments.push(Vec::new());
                }
            }
            c if c.is_whitespace() => end_word(&mut segments, &mut word, &mut in_word),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_word(&mut segments, &mut word, &mut in_word);
    segments.retain(|segment| !segment.is_empty());
    segments
}

fn end_word(segments: &mut [Vec<String>], word: &mut String, in_word: &mut bool) {
    if *in_word {
        if let Some(segment) = segments.last_mut() {
            segment.push(std::mem::take(word));
        }
        *in_word = false;
    }
}

/// `rq worker`'s options and queues, as click reads them: `--opt value`, `--opt=value`,
/// `-n value`, `-nvalue`, grouped short flags (`-bs`), and `--` before queue names.
fn parse_worker_options(args: &[String]) -> WorkerCommand {
    let mut command = WorkerCommand {
        pid1: true,
        ..WorkerCommand::default()
    };
    let mut index = 0;
    let mut only_queues = false;
    while index < args.len() {
        let arg = &args[index];
        index += 1;
        if only_queues || !arg.starts_with('-') || arg == "-" {
            command.queues.push(arg.clone());
        } else if arg == "--" {
            only_queues = true;
        } else {
            index += read_option(arg, args.get(index), &mut command);
        }
    }
    command
}

/// Reads one option word (and its value from `next` when it takes one); returns how many
/// words after `arg` it used.
fn read_option(arg: &str, next: Option<&String>, command: &mut WorkerCommand) -> usize {
    let (name, inline_value) = match arg.split_once('=') {
        Some((name, value)) if arg.starts_with("--") => (name, Some(value.to_string())),
        _ => (arg, None),
    };
    if let Some(spec) = find_option(name) {
        if !spec.takes_value {
            apply(spec, name, None, command);
            return 0;
        }
        return match inline_value {
            Some(value) => {
                apply(spec, name, Some(value), command);
                0
            }
            None => {
                apply(spec, name, next.cloned(), command);
                usize::from(next.is_some())
            }
        };
    }
    if !arg.starts_with("--") && arg.len() > 2 {
        return read_short_group(arg, next, command);
    }
    command.notes.push(format!(
        "`{arg}`: not an option of `rq worker` in RQ 2.12 (RQ would refuse to start)"
    ));
    0
}

/// `-bs` (two flags) or `-nname` (a short option with its value attached).
fn read_short_group(arg: &str, next: Option<&String>, command: &mut WorkerCommand) -> usize {
    for (offset, letter) in arg.char_indices().skip(1) {
        let name = format!("-{letter}");
        match find_option(&name) {
            Some(spec) if spec.takes_value => {
                let attached = &arg[offset + letter.len_utf8()..];
                if attached.is_empty() {
                    apply(spec, &name, next.cloned(), command);
                    return usize::from(next.is_some());
                }
                apply(spec, &name, Some(attached.to_string()), command);
                return 0;
            }
            Some(spec) => apply(spec, &name, None, command),
            None => {
                command.notes.push(format!(
                    "`{arg}`: `{name}` is not an option of `rq worker` in RQ 2.12"
                ));
                return 0;
            }
        }
    }
    0
}

fn find_option(name: &str) -> Option<&'static OptionSpec> {
    WORKER_OPTIONS
        .iter()
        .find(|spec| spec.names.contains(&name))
}

fn apply(spec: &OptionSpec, name: &str, value: Option<String>, command: &mut WorkerCommand) {
    if spec.takes_value && value.is_none() {
        command
            .notes
            .push(format!("`{name}` has no value (RQ would refuse to start)"));
        return;
    }
    let text = value.unwrap_or_default();
    match spec.effect {
        Effect::Burst => command.burst = true,
        Effect::WithScheduler => command.with_scheduler = true,
        Effect::Name => command.name = Some(text),
        Effect::WorkerClass => command.worker_class = Some(text),
        Effect::MaxJobs => command.max_jobs = whole(name, &text, command),
        Effect::WorkerTtl => command.worker_ttl_s = seconds(name, &text, command),
        Effect::MaintenanceInterval => {
            command.maintenance_interval_s = seconds(name, &text, command)
        }
        Effect::JobMonitoringInterval => {
            command.job_monitoring_interval_s = seconds(name, &text, command)
        }
        Effect::ResultsTtl => command.results_ttl_s = seconds(name, &text, command),
        Effect::DequeueStrategy if text == "default" => {}
        Effect::DequeueStrategy => command.notes.push(format!(
            "`{name} {text}`: simrq models the default strategy (queues in the order given)"
        )),
        Effect::Inert => command
            .notes
            .push(format!("`{name}`: changes nothing simrq models; ignored")),
        Effect::Unmodelled(why) => command
            .notes
            .push(format!("`{name}`: not modelled by simrq ({why})")),
    }
}

/// A whole-number option's value; a bad one is noted and ignored (RQ would not start).
fn number<T: std::str::FromStr>(
    name: &str,
    text: &str,
    expected: &str,
    command: &mut WorkerCommand,
) -> Option<T> {
    let parsed = text.parse().ok();
    if parsed.is_none() {
        command.notes.push(format!(
            "`{name} {text}`: expected {expected} (RQ would refuse to start); ignored"
        ));
    }
    parsed
}

fn whole(name: &str, text: &str, command: &mut WorkerCommand) -> Option<u32> {
    number(name, text, "a whole number", command)
}

fn seconds(name: &str, text: &str, command: &mut WorkerCommand) -> Option<u64> {
    number(name, text, "whole seconds", command)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|word| word.to_string()).collect()
    }

    fn worker(words: &[&str]) -> WorkerCommand {
        match read_program(&argv(words), &BTreeMap::new()) {
            Program::Worker(command) => command,
            other => panic!("{words:?} read as {other:?}"),
        }
    }

    #[test]
    fn reads_the_options_simrq_models() {
        let command = worker(&[
            "rq",
            "worker",
            "-s",
            "--burst",
            "--max-jobs=50",
            "-n",
            "w1",
            "--worker-ttl",
            "120",
            "--maintenance-interval=60",
            "--job-monitoring-interval",
            "10",
            "--results-ttl",
            "3600",
            "-w",
            "rq.worker.SimpleWorker",
            "high",
            "default",
        ]);
        assert_eq!(command.queues, ["high", "default"]);
        assert!(command.with_scheduler && command.burst && command.pid1);
        assert_eq!(command.max_jobs, Some(50));
        assert_eq!(command.name.as_deref(), Some("w1"));
        assert_eq!(
            command.worker_class.as_deref(),
            Some("rq.worker.SimpleWorker")
        );
        assert_eq!(command.worker_ttl_s, Some(120));
        assert_eq!(command.maintenance_interval_s, Some(60));
        assert_eq!(command.job_monitoring_interval_s, Some(10));
        assert_eq!(command.results_ttl_s, Some(3600));
        assert!(command.notes.is_empty(), "{:?}", command.notes);
    }

    #[test]
    fn grouped_short_flags_and_attached_values() {
        let command = worker(&["rqworker", "-bs", "-nw7", "q"]);
        assert!(command.burst && command.with_scheduler);
        assert_eq!(command.name.as_deref(), Some("w7"));
        assert_eq!(command.queues, ["q"]);
    }

    #[test]
    fn every_other_option_is_reported_never_dropped() {
        let command = worker(&[
            "python3",
            "-m",
            "rq.cli",
            "worker",
            "-u",
            "redis://r:6379",
            "--max-idle-time",
            "60",
            "--frobnicate",
            "--worker-ttl",
            "soon",
            "q",
        ]);
        assert_eq!(command.queues, ["q"]);
        assert_eq!(command.worker_ttl_s, None);
        let notes = command.notes.join("\n");
        for expected in [
            "`-u`: changes nothing",
            "`--max-idle-time`",
            "`--frobnicate`",
            "soon",
        ] {
            assert!(notes.contains(expected), "{expected} missing from {notes}");
        }
    }

    #[test]
    fn a_shell_list_without_exec_keeps_the_worker_from_being_pid1() {
        let list = worker(&[
            "/bin/sh",
            "-c",
            "cd /app && rq worker -s 'high prio' default",
        ]);
        assert!(!list.pid1);
        assert_eq!(list.queues, ["high prio", "default"]);
        assert!(list.notes[0].contains("pid1 = false"));
        let exec = worker(&["bash", "-ec", "cd /app; exec rq worker default"]);
        assert!(exec.pid1);
        let single = worker(&["sh", "-c", "rq worker default"]);
        assert!(single.pid1);
    }

    #[test]
    fn init_wrappers_and_environment() {
        let env = BTreeMap::from([(
            "RQ_WORKER_CLASS".to_string(),
            "rq.worker.SimpleWorker".to_string(),
        )]);
        let Program::Worker(command) =
            read_program(&argv(&["tini", "--", "rq", "worker", "q"]), &env)
        else {
            panic!("not a worker");
        };
        assert!(command.pid1);
        assert_eq!(
            command.worker_class.as_deref(),
            Some("rq.worker.SimpleWorker")
        );
    }

    #[test]
    fn other_programs() {
        let none = BTreeMap::new();
        assert_eq!(
            read_program(&argv(&["rq", "cron", "cfg.py"]), &none),
            Program::Cron
        );
        assert_eq!(
            read_program(&argv(&["rq", "worker-pool", "-n", "4"]), &none),
            Program::WorkerPool
        );
        assert_eq!(
            read_program(&argv(&["gunicorn", "app:rq"]), &none),
            Program::Other
        );
    }
}

//! `simrq calibrate` against a real redis-server (started here on a free port, killed by pid)
//! and against a scripted server that goes away mid-scan: an empty Redis, a Redis without RQ
//! keys, garbled job hashes and a lost connection each give a clear error or a warning, never
//! a panic, and never a write (calibrate runs as an ACL user allowed only read commands, and
//! Redis's own count of changes since the last save must not move).
//!
//! Without redis-server on PATH the tests that need it print SKIPPED, and fail when
//! `SIMRQ_REQUIRE_REDIS=1` (as CI sets it).

#[path = "support/resp.rs"]
mod resp;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};

use simrq::redis::Reply;

fn calibrate(url: &str, out: &Path, extra: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_simrq"))
        .args(["calibrate", "--redis", url, "--out"])
        .arg(out)
        .args(extra)
        .output()
        .expect("run simrq calibrate")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A user that may read and nothing else; the URL calibrate connects with.
fn read_only_user(client: &mut resp::Client, port: u16) -> String {
    let words = [
        "ACL",
        "SETUSER",
        "reader",
        "on",
        ">pw",
        "~*",
        "-@all",
        "+@read",
        "+@connection",
        "-@write",
        "-@dangerous",
    ];
    assert_eq!(client.call(&words), Reply::Status("OK".into()));
    format!("redis://reader:pw@127.0.0.1:{port}/0")
}

/// Redis's count of writes since the last save (nothing saves here): the proof of no write.
fn changes(client: &mut resp::Client) -> i64 {
    let Reply::Bulk(info) = client.call(&["INFO", "persistence"]) else {
        panic!("INFO reply");
    };
    let info: &str = info.as_ref();
    info.lines()
        .find_map(|l| l.strip_prefix("rdb_changes_since_last_save:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("rdb_changes_since_last_save in INFO persistence")
}

fn denied_commands(client: &mut resp::Client) -> usize {
    match client.call(&["ACL", "LOG"]) {
        Reply::Array(entries) => entries.len(),
        other => panic!("ACL LOG: {other:?}"),
    }
}

/// Runs calibrate read-only against `server` and asserts that nothing was written or denied.
fn calibrate_read_only(server: &resp::RedisServer, out: &Path, extra: &[&str]) -> Output {
    let mut client = server.client();
    let url = read_only_user(&mut client, server.port);
    let before = changes(&mut client);
    let output = calibrate(&url, out, extra);
    assert_eq!(changes(&mut client), before, "calibrate wrote to Redis");
    assert_eq!(
        denied_commands(&mut client),
        0,
        "calibrate tried a command a reader may not"
    );
    assert!(
        !text(&output.stderr).contains("panicked"),
        "{}",
        text(&output.stderr)
    );
    output
}

#[test]
fn an_empty_redis_is_a_clear_error() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let output = calibrate_read_only(&server, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("is empty (DBSIZE 0)"),
        "{}",
        text(&output.stderr)
    );
    assert!(!out.exists());
}

#[test]
fn a_redis_without_rq_keys_is_a_clear_error() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    client.call(&["SET", "session:1", "x"]);
    client.call(&["HSET", "job:1", "status", "finished"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let output = calibrate_read_only(&server, &out, &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains("holds 2 keys but none under rq:*"),
        "{stderr}"
    );
    assert!(!out.exists());
}

#[test]
fn rq_keys_without_usable_jobs_are_a_clear_error() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    client.call(&["SADD", "rq:queues", "rq:queue:default"]);
    client.call(&["HSET", "rq:job:a", "status", "finished"]); // no origin
    let dir = tempfile::tempdir().unwrap();
    let output = calibrate_read_only(&server, &dir.path().join("s.toml"), &[]);
    assert_eq!(output.status.code(), Some(2));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("fewer than 2 usable jobs"), "{stderr}");
    assert!(stderr.contains("no `status` or `origin`"), "{stderr}");
}

/// RQ's `utcformat` of a Unix second.
fn rq_time(unix_s: f64) -> String {
    let whole = unix_s.floor();
    let date = simrq::calibrate::record::format_utc(whole);
    let micros = ((unix_s - whole) * 1e6).round() as u64;
    format!("{}.{micros:06}Z", date.trim_end_matches('Z'))
}

/// Job `i` of a synthetic deployment: one every 2 s, 1 s long (3 s for every tenth), every
/// fifth failed, on worker w0 or w1; enqueued at `t0 + 2i`.
fn write_job(client: &mut resp::Client, i: u64, t0: f64) {
    let enqueued = t0 + 2.0 * i as f64;
    let started = enqueued + 0.1;
    let ended = started + if i % 10 == 0 { 3.0 } else { 1.0 };
    let status = if i % 5 == 0 { "failed" } else { "finished" };
    let key = format!("rq:job:job{i}");
    let worker = format!("w{}", i % 2);
    let fields = [
        ("status", status.to_string()),
        ("origin", "emails".to_string()),
        ("enqueued_at", rq_time(enqueued)),
        ("started_at", rq_time(started)),
        ("ended_at", rq_time(ended)),
        ("timeout", "180".to_string()),
        ("result_ttl", "600".to_string()),
        ("retries_left", "2".to_string()),
        ("retry_intervals", "[10, 30]".to_string()),
        ("worker_name", worker),
        ("data", "x".repeat(200)),
    ];
    let mut words = vec!["HSET".to_string(), key];
    for (field, value) in fields {
        words.push(field.to_string());
        words.push(value);
    }
    assert_eq!(client.call(&words), Reply::Int(11));
}

/// A deployment whose jobs were enqueued from a day ago, 2 s apart.
fn deployment(client: &mut resp::Client, jobs: u64) {
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for i in 0..jobs {
        write_job(client, i, (now_s - 86_400) as f64);
    }
    client.call(&["SADD", "rq:queues", "rq:queue:emails"]);
    for worker in ["w0", "w1"] {
        let key = format!("rq:worker:{worker}");
        client.call(&[
            "HSET", &key, "queues", "emails", "hostname", "node-a", "state", "idle",
        ]);
        client.call(&["SADD", "rq:workers", &key]);
    }
    client.call(&["HSET", "rq:scheduler:s1", "queues", "emails", "name", "s1"]);
}

#[test]
fn garbled_fields_are_warnings_and_the_rest_is_calibrated_read_only() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    deployment(&mut client, 200);
    // Garbled: a time no RQ writes, an unknown status, a key of the wrong type, a job with no
    // origin, and the dependents set of a job (not a job hash: skipped without a word).
    client.call(&[
        "HSET",
        "rq:job:bad-time",
        "status",
        "finished",
        "origin",
        "emails",
    ]);
    client.call(&[
        "HSET",
        "rq:job:bad-time",
        "enqueued_at",
        "yesterday",
        "timeout",
        "soon",
    ]);
    client.call(&[
        "HSET",
        "rq:job:bad-status",
        "status",
        "exploded",
        "origin",
        "emails",
    ]);
    client.call(&["SET", "rq:job:not-a-hash", "x"]);
    client.call(&["HSET", "rq:job:no-origin", "status", "finished"]);
    client.call(&["SADD", "rq:job:job1:dependents", "job2"]);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("calibrated.toml");
    let output = calibrate_read_only(&server, &out, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("have a `enqueued_at` RQ could not have written"),
        "{stderr}"
    );
    assert!(stderr.contains("have a `timeout`"), "{stderr}");
    assert!(stderr.contains("have a `status`"), "{stderr}");
    assert!(
        stderr.contains("expired during the scan or are not hashes"),
        "{stderr}"
    );
    let written = std::fs::read_to_string(&out).unwrap();
    let scenario = simrq::scenario::load(&out).expect("the written scenario validates");
    assert!(written.contains("# warning: "), "{written}");
    let workload = scenario
        .workload
        .iter()
        .find(|w| w.queue == "emails")
        .unwrap();
    let toml = toml::Value::try_from(workload).unwrap();
    // 200 jobs 2 s apart: 0.5 per second; every fifth failed; retry max 2 after [10, 30].
    assert_eq!(
        toml["arrival"]["poisson_per_s"].as_float(),
        Some(0.5),
        "{toml}"
    );
    // 40 of the 200 failed; the job with a garbled time still finished (its status is good).
    let fail = toml["fail_probability"].as_float().unwrap();
    assert!((fail - 40.0 / 201.0).abs() < 1e-6, "{toml}");
    assert_eq!(toml["retry"]["max"].as_integer(), Some(2), "{toml}");
    assert_eq!(toml["job_timeout"].as_str(), Some("3m"), "{toml}");
    assert_eq!(scenario.pods.len(), 1);
    assert_eq!(scenario.pods[0].replicas, 2);
    assert!(scenario.pods[0].with_scheduler);
    let calibration = scenario.calibration.expect("a [calibration] table");
    assert_eq!(calibration.jobs, Some(201));
    assert!(written.contains("lognormal median 1s"), "{written}");
}

#[test]
fn max_jobs_and_queues_bound_the_sample() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    deployment(&mut client, 50);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("capped.toml");
    let output = calibrate_read_only(&server, &out, &["--max-jobs", "20", "--trace"]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("--max-jobs 20 reached: 30 more jobs"),
        "{stderr}"
    );
    let scenario = simrq::scenario::load(&out).expect("validates");
    assert_eq!(scenario.calibration.unwrap().jobs, Some(20));
    let trace = dir.path().join("capped.toml.emails.arrivals.csv");
    assert_eq!(std::fs::read_to_string(trace).unwrap().lines().count(), 21);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(written.contains("arrival = { trace = \"capped.toml.emails.arrivals.csv\" }"));
    let other = calibrate_read_only(&server, &dir.path().join("o.toml"), &["--queues", "other"]);
    assert_eq!(other.status.code(), Some(2), "{}", text(&other.stderr));
    // The jobs were enqueued a day ago: none in the last minute, all in the last 30 days.
    let recent = calibrate_read_only(&server, &dir.path().join("r.toml"), &["--since", "1m"]);
    assert!(
        text(&recent.stderr).contains("fewer than 2 usable jobs"),
        "{}",
        text(&recent.stderr)
    );
    let all = calibrate_read_only(&server, &dir.path().join("a.toml"), &["--since", "30d"]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    let again = calibrate_read_only(&server, &out, &[]);
    assert!(
        text(&again.stderr).contains("exists; use --force"),
        "{}",
        text(&again.stderr)
    );
    let forced = calibrate_read_only(&server, &out, &["--force"]);
    assert_eq!(forced.status.code(), Some(0), "{}", text(&forced.stderr));
    assert_eq!(
        simrq::scenario::load(&out)
            .unwrap()
            .calibration
            .unwrap()
            .jobs,
        Some(50)
    );
}

/// Reads one RESP command (an array of bulk strings) or `None` at EOF.
fn read_command(reader: &mut impl BufRead) -> Option<Vec<String>> {
    let mut line = String::new();
    if reader.read_line(&mut line).ok()? == 0 {
        return None;
    }
    let count: usize = line.trim().strip_prefix('*')?.parse().ok()?;
    let mut words = Vec::new();
    for _ in 0..count {
        line.clear();
        reader.read_line(&mut line).ok()?;
        let length: usize = line.trim().strip_prefix('$')?.parse().ok()?;
        let mut word = vec![0; length + 2];
        reader.read_exact(&mut word).ok()?;
        words.push(String::from_utf8_lossy(&word[..length]).into_owned());
    }
    Some(words)
}

#[test]
fn a_redis_that_goes_away_mid_scan_is_a_clear_error() {
    // A scripted server: DBSIZE and the first SCAN are answered (a cursor that says there is
    // more), then the connection is closed, as when Redis dies or a proxy cuts it.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut writer = stream;
        let mut seen = Vec::new();
        while let Some(words) = read_command(&mut reader) {
            let name = words[0].to_uppercase();
            seen.push(name.clone());
            let reply: &[u8] = match name.as_str() {
                "DBSIZE" => b":1000\r\n",
                "SCAN" if seen.iter().filter(|c| *c == "SCAN").count() == 1 => {
                    b"*2\r\n$2\r\n17\r\n*1\r\n$9\r\nrq:queues\r\n"
                }
                _ => break,
            };
            writer.write_all(reply).unwrap();
        }
        seen
    });
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let output = calibrate(&format!("redis://127.0.0.1:{port}/0"), &out, &[]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("the connection was lost while scanning (after 1 RQ keys)"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists());
    assert_eq!(server.join().unwrap(), ["DBSIZE", "SCAN", "SCAN"]);
}

#[test]
fn no_redis_at_all_is_a_clear_error() {
    // A port nobody listens on: bound, then released.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let output = calibrate(
        &format!("redis://127.0.0.1:{port}/0"),
        &dir.path().join("s.toml"),
        &[],
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("cannot connect to redis://127.0.0.1"),
        "{}",
        text(&output.stderr)
    );
    let bad = calibrate("http://nowhere", &dir.path().join("s.toml"), &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        text(&bad.stderr).contains("--redis http://nowhere"),
        "{}",
        text(&bad.stderr)
    );
}

/// `[calibration]` reaches the report's header, and so does the host cost it assumed; a
/// scenario without the table is said to be written by hand, with its 0 s host cost flagged.
#[test]
fn report_header_states_where_the_inputs_came_from() {
    let calibrated = r#"
        [run]
        duration = "60s"
        [calibration]
        source = "redis://10.0.0.5:6379/0"
        from = "2026-12-07T23:00:00Z"
        to = "2026-12-07T23:01:00Z"
        jobs = 120
        host_cost_pairs = 80
        [rq]
        horse_startup = "80ms"
        horse_exit = "150ms"
        [[pods]]
        [[workload]]
        arrival = { poisson_per_s = 2 }
    "#;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("calibrated.toml");
    std::fs::write(&file, calibrated).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_simrq"))
        .args(["report", "--runs", "1", "--no-theory", "--out"])
        .arg(dir.path().join("report"))
        .arg(&file)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    let report = std::fs::read_to_string(dir.path().join("report/report.md")).unwrap();
    assert!(
        report.contains(
            "Inputs: calibrated by `simrq calibrate` from `redis://10.0.0.5:6379/0`, \
             jobs enqueued 2026-12-07T23:00:00Z .. 2026-12-07T23:01:00Z, 120 jobs"
        ),
        "{report}"
    );
    assert!(
        report.contains("measured from 80 back-to-back job pairs"),
        "{report}"
    );
    assert!(report.contains("horse_startup = \"80ms\""), "{report}");
    let by_hand = simrq::Scenario::from_toml("[[pods]]\n[[workload]]\n").unwrap();
    let header = simrq::review::sections::provenance(&by_hand);
    assert!(header.contains("written by hand"), "{header}");
    assert!(header.contains("default of 0 s: not measured"), "{header}");
}

/// `[calibration]` is validated with located errors.
#[test]
fn a_bad_calibration_table_is_a_located_error() {
    let text = "[[pods]]\n[[workload]]\n[calibration]\nsource = \"r\"\nfrom = \"yesterday\"\n";
    let error = simrq::scenario::parse(text, "c.toml")
        .unwrap_err()
        .to_string();
    assert!(error.contains("c.toml:5"), "{error}");
    assert!(error.contains("calibration.from"), "{error}");
    let reversed = "[[pods]]\n[[workload]]\n[calibration]\nsource = \"r\"\n\
                    from = \"2026-12-07T23:00:00Z\"\nto = \"2026-12-07T22:00:00Z\"\n";
    let error = simrq::scenario::parse(reversed, "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("c.toml:6") && error.contains("calibration.to"),
        "{error}"
    );
    let unknown = "[[pods]]\n[[workload]]\n[calibration]\nsource = \"r\"\nsorce = \"x\"\n";
    let error = simrq::scenario::parse(unknown, "c.toml")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("c.toml:5") && error.contains("sorce"),
        "{error}"
    );
}

/// A real redis-server SIGKILLed while calibrate scans it: a MONITOR connection watches the
/// commands and kills the server at calibrate's first SCAN with a cursor past the start, so
/// the kill lands mid-scan of 100,000 job hashes.
#[test]
fn a_redis_killed_mid_scan_is_a_clear_error() {
    let Some(mut server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    let script = "for i = 1, tonumber(ARGV[1]) do redis.call('HSET', 'rq:job:' .. i, \
                  'status', 'finished', 'origin', 'q', 'enqueued_at', \
                  '2026-12-07T23:00:00.000000Z') end return 1";
    assert_eq!(client.call(&["EVAL", script, "0", "100000"]), Reply::Int(1));
    let mut monitor = server.client();
    assert_eq!(monitor.call(&["MONITOR"]), Reply::Status("OK".into()));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let url = format!("redis://127.0.0.1:{}/0", server.port);
    let mut child = Command::new(env!("CARGO_BIN_EXE_simrq"))
        .args(["calibrate", "--redis", &url, "--out"])
        .arg(&out)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    loop {
        let Reply::Status(line) = monitor.read_reply() else {
            panic!("MONITOR line")
        };
        if line.contains("\"SCAN\"") && !line.contains("\"SCAN\" \"0\"") {
            break;
        }
    }
    server.kill();
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the connection was lost while"), "{stderr}");
    assert!(stderr.contains("Nothing was written"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!out.exists());
}

/// `--k8s`: the pods and the workers' `[rq]` options come from the manifests, not from the
/// workers Redis saw, and where the two disagree calibrate warns.
#[test]
fn k8s_manifests_give_the_pods_and_disagreements_are_warnings() {
    let Some(server) = resp::scripted_server() else {
        return;
    };
    let mut client = server.client();
    deployment(&mut client, 50);
    let dir = tempfile::tempdir().unwrap();
    let manifest = dir.path().join("mailer.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: { name: mailer }\nspec:\n  \
         replicas: 3\n  template:\n    spec:\n      terminationGracePeriodSeconds: 120\n      \
         containers:\n        - name: worker\n          command: [rq, worker, --worker-ttl, \
         \"200\", emails]\n",
    )
    .unwrap();
    let out = dir.path().join("k8s.toml");
    let output = calibrate_read_only(&server, &out, &["--k8s", manifest.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("the manifests give 3 worker replicas, Redis saw 2 live workers"),
        "{stderr}"
    );
    assert!(
        stderr.contains("no worker in the manifests runs --with-scheduler"),
        "{stderr}"
    );
    let scenario = simrq::scenario::load(&out).expect("validates");
    assert_eq!(scenario.pods.len(), 1);
    let pods = &scenario.pods[0];
    assert_eq!((pods.name.as_str(), pods.replicas), ("mailer", 3));
    assert!(!pods.with_scheduler);
    assert_eq!(pods.termination_grace_period.as_secs_f64(), 120.0);
    assert_eq!(scenario.rq.worker_ttl.as_secs_f64(), 200.0);
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(
        written.contains("from the Kubernetes manifests (--k8s)"),
        "{written}"
    );

    // Without --k8s the pods are the workers Redis saw.
    let plain = dir.path().join("plain.toml");
    let output = calibrate_read_only(&server, &plain, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output.stderr));
    let scenario = simrq::scenario::load(&plain).unwrap();
    assert_eq!(
        (scenario.pods[0].replicas, scenario.pods[0].with_scheduler),
        (2, true)
    );
    assert_eq!(scenario.rq.worker_ttl.as_secs_f64(), 420.0);
}

/// A manifest that cannot be read is reported before Redis is touched.
#[test]
fn a_bad_manifest_is_an_error_before_the_scan() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("s.toml");
    let missing = dir.path().join("missing.yaml");
    let output = calibrate(
        "redis://127.0.0.1:1/0",
        &out,
        &["--k8s", missing.to_str().unwrap()],
    );
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("missing.yaml: cannot read"), "{stderr}");
    assert!(!out.exists());
}

//! Golden outputs: the sha256 of every file `simrq run` writes, for every shipped scenario at
//! seeds 1 and 2, is committed in `tests/golden/digests.txt`. The determinism test compares
//! two runs of one build, so it cannot see a change of behaviour; this one compares against
//! the committed digests, so any change to any output byte fails it.
//!
//! When behaviour changes on purpose, regenerate the digests in the same commit and say why:
//!
//! ```sh
//! SIMRQ_BLESS=1 cargo test --profile checks --test golden_outputs
//! ```

mod outputs;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use outputs::{load, scenario_path};
use sha2::{Digest, Sha256};
use simrq::run::{run_scenario, RunOptions};

const SEEDS: [u64; 2] = [1, 2];

fn digests_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/digests.txt")
}

fn shipped_scenarios() -> Vec<String> {
    let folder = scenario_path("x").parent().unwrap().to_path_buf();
    let mut names: Vec<String> = std::fs::read_dir(folder)
        .unwrap()
        .filter_map(|entry| {
            let name = entry.unwrap().file_name().into_string().unwrap();
            name.strip_suffix(".toml").map(str::to_string)
        })
        .collect();
    names.sort();
    names
}

/// `scenario seed file` → sha256 hex, for every file one run writes.
fn run_digests(name: &str, seed: u64) -> BTreeMap<String, String> {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("out");
    let options = RunOptions::new(seed, &out, &format!("scenarios/{name}.toml"));
    run_scenario(&load(name), &options)
        .unwrap_or_else(|error| panic!("scenarios/{name}.toml seed {seed}: {error}"));
    let mut digests = BTreeMap::new();
    for entry in std::fs::read_dir(&out).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        let digest = Sha256::digest(std::fs::read(&path).unwrap());
        let hex: String = digest.iter().map(|byte| format!("{byte:02x}")).collect();
        digests.insert(format!("{name} {seed} {file}"), hex);
    }
    digests
}

fn committed() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(digests_path()).unwrap_or_default();
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| {
            let (key, hex) = line.rsplit_once(' ').expect("`scenario seed file sha256`");
            (key.to_string(), hex.to_string())
        })
        .collect()
}

fn write_digests(digests: &BTreeMap<String, String>) {
    let mut text = String::from(
        "# sha256 of every output file: scenario seed file digest (tests/golden_outputs.rs)\n",
    );
    for (key, hex) in digests {
        text.push_str(&format!("{key} {hex}\n"));
    }
    std::fs::write(digests_path(), text).unwrap();
}

#[test]
fn every_output_of_every_shipped_scenario_matches_its_committed_digest() {
    let jobs: Vec<(String, u64)> = shipped_scenarios()
        .into_iter()
        .flat_map(|name| SEEDS.map(|seed| (name.clone(), seed)))
        .collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let found = std::sync::Mutex::new(BTreeMap::new());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| loop {
                let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((name, seed)) = jobs.get(index) else {
                    break;
                };
                let digests = run_digests(name, *seed);
                found.lock().unwrap().extend(digests);
            });
        }
    });
    let found = found.into_inner().unwrap();
    if std::env::var_os("SIMRQ_BLESS").is_some() {
        write_digests(&found);
        return;
    }
    let expected = committed();
    assert!(
        !expected.is_empty(),
        "tests/golden/digests.txt is missing: SIMRQ_BLESS=1 cargo test --profile checks --test golden_outputs"
    );
    let changed: Vec<String> = expected
        .keys()
        .chain(found.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|key| expected.get(*key) != found.get(*key))
        .map(|key| key.to_string())
        .collect();
    assert!(
        changed.is_empty(),
        "{} output files differ from tests/golden/digests.txt (scenario seed file):\n  {}\n\
         If the change is intended, regenerate with SIMRQ_BLESS=1 and say why in the commit.",
        changed.len(),
        changed.join("\n  ")
    );
}

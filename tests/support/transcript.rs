//! The recorded Meilisearch scenario (`tests/data/meili-transcripts/record.py`):
//! replaying it against a server under test and comparing with the recording.
//! Shared by the devnode test and the router's cluster test.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn transcripts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/meili-transcripts")
}

pub fn python(args: &[&str]) -> Output {
    let script = transcripts().join("record.py");
    Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("run python3 record.py")
}

/// Replays the scenario against the empty server at `url`; returns the temp dir and the recording.
pub fn record(url: &str, key: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("actual.jsonl");
    let run = python(&[
        "record",
        "--url",
        url,
        "--key",
        key,
        "--out",
        &out.to_string_lossy(),
    ]);
    assert!(
        run.status.success(),
        "record.py record failed: {}",
        String::from_utf8_lossy(&run.stderr)
    );
    (dir, out)
}

pub fn compare(actual: &Path, shape_only: bool) -> (bool, String) {
    let expected = transcripts().join("meilisearch-1.50.0.jsonl");
    let (e, a) = (expected.to_string_lossy(), actual.to_string_lossy());
    let mut args = vec!["compare", &*e, &*a];
    if shape_only {
        args.push("--shape-only");
    }
    let out = python(&args);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// The steps `compare` reports as different (unindented `name:` lines).
pub fn differing_steps(report: &str) -> Vec<String> {
    report
        .lines()
        .filter(|l| !l.starts_with(' ') && l.ends_with(':'))
        .map(|l| l.trim_end_matches(':').to_string())
        .chain(
            report
                .lines()
                .filter_map(|l| l.strip_suffix(": missing from actual recording"))
                .map(String::from),
        )
        .collect()
}

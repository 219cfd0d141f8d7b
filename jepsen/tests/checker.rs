//! The checkers against histories with known verdicts (kept in `tests/data/`):
//! a checker that gets one of these wrong is broken, whatever it says about
//! Miroir.

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use miroir_jepsen::check::kv::check_kv;
use miroir_jepsen::check::parse::{edn, etcd_log};
use miroir_jepsen::check::register::check_register;
use miroir_jepsen::check::Verdict;

/// Generous: a verdict of `Unknown` fails the test just like a wrong one.
const BUDGET: Duration = Duration::from_secs(60);

/// The histories, kept in the repository with their licence (`data/linearizability/LICENSE`).
fn histories() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/linearizability")
}

#[test]
fn etcd_register_histories_match_expected() {
    let dir = histories().join("etcd-register");
    let expected = fs::read_to_string(dir.join("EXPECTED")).expect("read EXPECTED");
    let start = Instant::now();
    let mut wrong = Vec::new();
    let mut count = 0;
    for line in expected.lines().filter(|l| !l.trim().is_empty()) {
        let (file, verdict) = line.split_once(char::is_whitespace).expect("FILE VERDICT");
        let want = match verdict.trim() {
            "linearizable" => Verdict::Valid,
            "not-linearizable" => Verdict::Invalid,
            other => panic!("{file}: unknown verdict {other}"),
        };
        let text = fs::read_to_string(dir.join(file)).expect("read history");
        let history = etcd_log(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let t = Instant::now();
        let result = check_register(&history, BUDGET);
        eprintln!("{file}: {:?} in {:?}", result.verdict, t.elapsed());
        assert_eq!(result.ignored, 0, "{file}");
        if result.verdict != want {
            wrong.push(format!(
                "{file}: got {:?}, expected {want:?}",
                result.verdict
            ));
        }
        count += 1;
    }
    eprintln!("{count} etcd histories in {:?}", start.elapsed());
    assert_eq!(count, 102);
    assert!(wrong.is_empty(), "wrong verdicts:\n{}", wrong.join("\n"));
}

#[test]
fn kv_histories_match_their_names() {
    let dir = histories().join("kv");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .expect("read kv/")
        .map(|e| e.expect("dir entry").path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 6, "{files:?}");
    for path in files {
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let want = if name.ends_with("-ok") {
            Verdict::Valid
        } else if name.ends_with("-bad") {
            Verdict::Invalid
        } else {
            panic!("{name}: neither -ok nor -bad");
        };
        let text = fs::read_to_string(&path).expect("read history");
        let history = edn(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let t = Instant::now();
        let result = check_kv(&history, BUDGET);
        eprintln!(
            "{name}: {:?} over {} keys in {:?}",
            result.verdict,
            result.keys.len(),
            t.elapsed()
        );
        assert_eq!(result.ignored, 0, "{name}");
        assert_eq!(result.verdict, want, "{name}");
        if want == Verdict::Invalid {
            let bad = result.problems().next().expect("an invalid key");
            assert!(bad.explanation.is_some() && !bad.unlinearizable.is_empty());
            eprintln!(
                "  key {:?}: {}",
                bad.key,
                bad.explanation.as_deref().unwrap()
            );
        }
    }
}

//! Replays every saved fuzz input through its target: the seeds the fuzzer starts from (`fuzz/seeds/<target>/`)
//! and every minimised crash input (`testdata/fuzz-regressions/<target>/<name>`, see that directory's README).
//! A regression input is named after what it caught; each is its own line in the failure report.

use std::path::{Path, PathBuf};

fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && p.file_name().is_some_and(|n| n != "README.md"))
        .collect();
    out.sort();
    out
}

fn replay(root: &Path) -> usize {
    let mut n = 0;
    for (name, target) in quarry_fuzzing::TARGETS {
        for file in files(&root.join(name)) {
            let data = std::fs::read(&file).unwrap();
            let caught = std::panic::catch_unwind(|| target(&data));
            assert!(caught.is_ok(), "{name}: {} panics", file.display());
            n += 1;
        }
    }
    n
}

#[test]
fn every_seed_runs_through_its_target() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    let n = replay(&root);
    assert!(n >= 150, "only {n} seeds found under {}", root.display());
}

#[test]
fn every_saved_fuzz_finding_stays_fixed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/fuzz-regressions");
    assert!(
        root.join("README.md").is_file(),
        "{} is missing",
        root.display()
    );
    // Each file is one finding, replayed through its target; none may panic again.
    replay(&root);
}

#[test]
fn every_target_has_seeds() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/seeds");
    for (name, _) in quarry_fuzzing::TARGETS {
        // The proto decoder and the structured targets start from nothing useful to hand-write, except where a
        // mode byte is enough; the others need real inputs.
        if ["decode_otlp_proto"].contains(name) {
            continue;
        }
        assert!(!files(&root.join(name)).is_empty(), "no seed for {name}");
    }
}

//! Helpers of the crash and fault tests that re-run their own test binary as a child process: start it, collect
//! the batch numbers it acknowledges, kill it with SIGKILL, and check the batches a restarted store holds.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use quarry_core::LogRecord;
use quarry_core::record::attribute;

/// The batch number of an `ack <batch>` line of a child's output. The test harness prints `test <name> ... `
/// before the child's first line, so the marker may follow other text.
pub fn ack(line: &str) -> Option<u64> {
    let (_, rest) = line.rsplit_once("ack ")?;
    rest.trim().parse().ok()
}

/// Runs the test `test` of the binary `exe` as a child (`--exact test --nocapture --test-threads=1`, with
/// `envs`), waits until it has acknowledged `min_acks` batches (at most 60 s), lets it run `delay` more, kills it
/// with SIGKILL and returns the batch numbers it acknowledged, in order.
pub fn run_and_kill(
    exe: &Path,
    test: &str,
    envs: &[(&str, String)],
    min_acks: usize,
    delay: Duration,
) -> Vec<u64> {
    let mut child = Command::new(exe)
        .args(["--exact", test, "--nocapture", "--test-threads=1"])
        .envs(envs.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starts the child");
    let seen = Arc::new(Mutex::new(Vec::<u64>::new()));
    let reader = {
        let seen = Arc::clone(&seen);
        let stdout = child.stdout.take().expect("piped stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(b) = ack(&line) {
                    seen.lock().expect("not poisoned").push(b);
                }
            }
        })
    };
    let waited = Instant::now();
    while seen.lock().expect("not poisoned").len() < min_acks
        && waited.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(2));
    }
    std::thread::sleep(delay);
    child.kill().expect("SIGKILL");
    child.wait().expect("reaped");
    reader.join().expect("reader thread");
    seen.lock().expect("not poisoned").clone()
}

/// Groups `rows` into batches by the attribute `batch_key`, each row numbered by the attribute `row_key`, and
/// checks that every batch present is whole and present once (row numbers exactly `0..rows_per_batch`). Returns
/// the batches present, or what is wrong.
pub fn whole_batches(
    rows: &[LogRecord],
    batch_key: &str,
    row_key: &str,
    rows_per_batch: usize,
) -> Result<BTreeSet<u64>, String> {
    let mut per_batch: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for r in rows {
        let number = |key: &str| -> Result<u64, String> {
            attribute(&r.attributes, key)
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| format!("a row without a numeric {key:?} attribute"))
        };
        per_batch
            .entry(number(batch_key)?)
            .or_default()
            .push(number(row_key)? as usize);
    }
    for (b, is) in &mut per_batch {
        is.sort_unstable();
        if *is != (0..rows_per_batch).collect::<Vec<_>>() {
            return Err(format!(
                "batch {b} is not present exactly once and whole ({} rows)",
                is.len()
            ));
        }
    }
    Ok(per_batch.into_keys().collect())
}

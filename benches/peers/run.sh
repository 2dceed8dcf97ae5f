#!/usr/bin/env bash
# The side-by-side benchmark: quarry against chDB (ClickHouse in process) and DuckDB on the same rows.
#   benches/peers/run.sh [--rows N] [--runs R] [--warmup W] [--ingest-runs I] [--out FILE.md]   (default 10M rows, 3 ingest rounds)
# Builds quarry in release mode, makes a virtual environment with pinned chDB and DuckDB under target/peers/, and
# runs benches/peers/run.py (see its docstring for the method). Data and results stay under target/peers/.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -p quarry-cli -p quarry-benches --bin quarry --bin peer_runner
venv=target/peers/venv
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet duckdb==2.0.1 chdb==4.4.0
fi
exec "$venv/bin/python" benches/peers/run.py run --quarry target/release/quarry --runner target/release/peer_runner "$@"

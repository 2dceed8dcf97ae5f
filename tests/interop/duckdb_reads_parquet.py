"""DuckDB reads quarry's Parquet tree directly and finds exactly the rows that were ingested.

Usage: duckdb_reads_parquet.py QUARRY_BINARY WORK_DIR

Generates logs with `quarry gen`, ingests them with `quarry ingest` (two teams), then has DuckDB read both the
input JSON Lines and quarry's hive-partitioned Parquet tree and compares, per (team, service, severity, hour):
row counts, the set of bodies, and the sum of timestamps. Any difference fails with the first mismatches.
Run by .ci/run inside a virtual environment with a pinned duckdb.
"""

import json
import os
import subprocess
import sys

import duckdb


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def main():
    quarry, work = sys.argv[1], sys.argv[2]
    os.makedirs(work, exist_ok=True)
    data = os.path.join(work, "data")
    inputs = {}
    for team, seed, rows in ((1, 5, 20000), (2, 6, 3000)):
        path = os.path.join(work, f"team{team}.jsonl")
        run(quarry, "gen", "--rows", str(rows), "--seed", str(seed), "--out", path)
        run(quarry, "--data", data, "--team", str(team), "ingest", path)
        inputs[team] = path

    con = duckdb.connect()
    want = con.sql(
        " UNION ALL ".join(
            f"""SELECT {team} AS team, service_name, severity_text,
                       hour(CAST(timestamp AS TIMESTAMPTZ) AT TIME ZONE 'UTC') AS hour, body,
                       epoch_ns(CAST(timestamp AS TIMESTAMPTZ)) AS ts
                FROM read_json('{path}', format = 'newline_delimited',
                               columns = {{'timestamp': 'VARCHAR', 'service_name': 'VARCHAR',
                                           'severity_text': 'VARCHAR', 'body': 'VARCHAR'}})"""
            for team, path in inputs.items()
        )
    ).fetchall()
    got = con.sql(
        f"""SELECT team, service_name, severity_text, CAST(hour AS INTEGER) AS hour, body, epoch_ns(timestamp) AS ts
            FROM read_parquet('{data}/team=*/date=*/hour=*/*.parquet', hive_partitioning = true)"""
    ).fetchall()

    def group(rows):
        out = {}
        for team, service, severity, hour, body, ts in rows:
            g = out.setdefault((team, service, severity, hour), [0, set(), 0])
            g[0] += 1
            g[1].add(body)
            g[2] += ts
        return out

    want_g, got_g = group(want), group(got)
    assert len(want) == 23000, len(want)
    mismatches = [k for k in sorted(set(want_g) | set(got_g)) if want_g.get(k) != got_g.get(k)]
    if mismatches:
        for k in mismatches[:5]:
            w, g = want_g.get(k), got_g.get(k)
            print("mismatch", k, "want", w and (w[0], w[2]), "got", g and (g[0], g[2]))
        sys.exit(1)
    print(json.dumps({"rows": len(got), "groups": len(got_g), "mismatches": 0}))


if __name__ == "__main__":
    main()

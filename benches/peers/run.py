#!/usr/bin/env python3
"""Side by side: quarry against ClickHouse (chDB, a MergeTree table shaped like PostHog's) and DuckDB (a native
table, and DuckDB reading quarry's own Parquet tree), on the same generated rows, in one run on one machine.

Run it through `benches/peers/run.sh` (which builds quarry in release mode and makes the virtual environment):

    benches/peers/run.sh --rows 1000000 [--runs 5] [--warmup 1] [--ingest-runs 3] [--out FILE.md]

Steps:
1. `quarry gen --rows N --seed 42` writes the rows as JSON Lines (cached per N under target/peers/).
2. Each engine ingests that file in a process of its own, timed, with its peak RSS: `quarry ingest` (durable,
   flushed Parquet + sidecars; once as the command does by default, without the WAL, and once with `--wal`); chDB `INSERT … SELECT … FROM file(…, JSONEachRow)` into the MergeTree table
   (PostHog's ORDER BY, skip indexes and per-minute projection, spec §1.1); DuckDB `CREATE TABLE … AS SELECT … FROM
   read_json(…)`. DuckDB-over-Parquet reads quarry's files as they are. Bytes on disk are each directory's size.
   `--ingest-runs` rounds (default 3) ingest into every engine in turn; each engine's rate is the median of its
   rounds (all rounds are printed), and the last round's stores are the ones queried.
3. The log-UI mix runs on every engine in a process of its own, `--warmup` untimed and `--runs` timed runs per
   request, medians reported: quarry through its facade (`peer_runner`, in process, no HTTP), the peers through
   their Python APIs with the answer fetched into Python (the part of the answer every engine must produce). A
   list fetches whole rows (every column), as quarry's answer holds them.
4. Every engine's answer to every request is normalised and compared with quarry's; any difference fails the run:
   a fast wrong answer is not a result.
5. A markdown table: per request the median of each engine and the ratio peer/quarry (> 1: quarry is faster),
   the geometric mean of the ratios, ingest rows/s, bytes per row on disk, and peak memory.

`now` is 2026-11-02T00:00:00Z, the end of the generated day, for every engine. Timestamps compare at microsecond
precision (what ClickHouse's DateTime64(6) and DuckDB's TIMESTAMP keep; the generator writes microseconds).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "testdata", "cases", "loghub"))
import generate as ref  # noqa: E402  (interval picker, ISO formats: the same reference as the tests)

NS = ref.NS
NOW = "2026-11-02T00:00:00Z"
NOW_NS = ref.parse_iso(NOW)
HOUR = 3_600 * NS
SERVICE = "checkout-api"

# ------------------------------------------------------------------------------------------------------------
# The request mix (spec §3): name, quarry request, answer kind, and the parameters the SQL needs.
# ------------------------------------------------------------------------------------------------------------


def iso(ns: int) -> str:
    return ref.format_iso(ns)


def mix() -> list[dict]:
    day = {"date_from": "-24h"}
    out = []

    def add(name, endpoint, kind, start, end, **kw):
        out.append({"name": name, "endpoint": endpoint, "kind": kind, "start": start, "end": end, **kw})

    d0 = NOW_NS - 24 * HOUR
    q = lambda **f: {"query": {"dateRange": day, **f}}  # noqa: E731
    add("list newest 100", "query", "list", d0, NOW_NS, body=q(limit=100))
    add("list newest 100 errors", "query", "list", d0, NOW_NS, body=q(limit=100, severityLevels=["error"]),
        severities=["error"])
    add("list newest 100 of one service", "query", "list", d0, NOW_NS, body=q(limit=100, serviceNames=[SERVICE]),
        services=[SERVICE])
    add("list newest 100, http.status_code = 503", "query", "list", d0, NOW_NS,
        body=q(limit=100, filterGroup={"type": "AND", "values": [
            {"key": "http.status_code", "type": "log_attribute", "operator": "exact", "value": "503"}]}),
        attr=("http.status_code", "503"))
    add("list newest 100, search 'timeout'", "query", "list", d0, NOW_NS, body=q(limit=100, searchTerm="timeout"),
        search="timeout")
    add("next page (cursor)", "query", "list", d0, NOW_NS, body=q(limit=100), after_from="list newest 100",
        page=2)
    add("count 24 h", "count", "count", d0, NOW_NS, body=q())
    add("count errors 24 h", "count", "count", d0, NOW_NS, body=q(severityLevels=["error", "fatal"]),
        severities=["error", "fatal"])
    add("count-ranges 24 h", "count-ranges", "ranges", d0, NOW_NS, body=q())
    for label, hours in (("1 h", 1), ("24 h", 24), ("7 d", 168)):
        rng = {"date_from": f"-{hours}h"}
        start = NOW_NS - hours * HOUR
        add(f"sparkline by severity {label}", "sparkline", "sparkline", start, NOW_NS,
            body={"query": {"dateRange": rng}}, by="severity")
        add(f"sparkline by service {label}", "sparkline", "sparkline", start, NOW_NS,
            body={"query": {"dateRange": rng, "sparklineBreakdownBy": "service"}}, by="service")
    add("services 24 h", "services", "services", d0, NOW_NS, body=q())
    add("values of http.method", "values", "values", d0, NOW_NS,
        params=[["key", "http.method"], ["dateRange", json.dumps(day)]], key="http.method")
    add("attribute keys matching 'http'", "attributes", "keys", d0, NOW_NS,
        params=[["search", "http"], ["dateRange", json.dumps(day)]], needle="http")
    add("alert: errors in the last 5 minutes", "count", "count", NOW_NS - 300 * NS, NOW_NS,
        body={"query": {"dateRange": {"date_from": "-5M"}, "severityLevels": ["error"]}}, severities=["error"])
    return out


# ------------------------------------------------------------------------------------------------------------
# SQL for the peers. `d` is a dialect: column names and the few functions that differ.
# ------------------------------------------------------------------------------------------------------------

class Dialect:
    def __init__(self, name, ts, sev, svc, body, attrs, ts_lit, epoch_s, lower_contains, team):
        self.name, self.ts, self.sev, self.svc, self.body, self.attrs = name, ts, sev, svc, body, attrs
        self.ts_lit, self.epoch_s, self.lower_contains, self.team = ts_lit, epoch_s, lower_contains, team


def ch_ts(ns: int) -> str:
    return f"toDateTime64('{ref._civil(ns).replace('T', ' ')}.{(ns % NS) // 1000:06d}', 6, 'UTC')"


def duck_ts(ns: int) -> str:
    return f"TIMESTAMP '{ref._civil(ns).replace('T', ' ')}.{(ns % NS) // 1000:06d}'"


def duck_tstz(ns: int) -> str:
    return f"TIMESTAMPTZ '{ref._civil(ns).replace('T', ' ')}.{(ns % NS) // 1000:06d}+00'"


CH = Dialect("chdb", "timestamp", "severity_text", "service_name", "body", "attributes", ch_ts,
             lambda e: f"toUnixTimestamp({e})", lambda col, s: f"positionCaseInsensitive({col}, '{s}') > 0",
             "team_id = 1 AND ")
DUCK = Dialect("duckdb", "ts", "severity", "service", "body", "attrs", duck_ts,
               lambda e: f"(epoch_us({e}) // 1000000)", lambda col, s: f"contains(lower({col}), '{s}')", "")
DUCK_PARQUET = Dialect("duckdb-parquet", "timestamp", "severity_text", "service_name", "body", "attributes",
                       duck_tstz, lambda e: f"(epoch_ns({e}) // 1000000000)",
                       lambda col, s: f"contains(lower({col}), '{s}')", "team = 1 AND ")


def where(d: Dialect, r: dict, end: int | None = None) -> str:
    c = [f"{d.team}{d.ts} >= {d.ts_lit(r['start'])} AND {d.ts} < {d.ts_lit(end if end is not None else r['end'])}"]
    if r.get("severities"):
        c.append(f"{d.sev} IN (" + ", ".join(f"'{s}'" for s in r["severities"]) + ")")
    if r.get("services"):
        c.append(f"{d.svc} IN (" + ", ".join(f"'{s}'" for s in r["services"]) + ")")
    if r.get("attr"):
        k, v = r["attr"]
        c.append(f"{d.attrs}['{k}'] = '{v}'")
    if r.get("search"):
        c.append(d.lower_contains(d.body, r["search"]))
    return " AND ".join(c)


def bucket(d: Dialect, width_s: int) -> str:
    if d is CH:
        # As PostHog writes it: buckets of a minute or more start from toStartOfMinute, which lets ClickHouse
        # answer from the per-minute projection.
        inner = f"toStartOfMinute({d.ts})" if width_s >= 60 else d.ts
        return f"toUnixTimestamp(toStartOfInterval({inner}, INTERVAL {width_s} SECOND))"
    return f"({d.epoch_s(d.ts)} // {width_s}) * {width_s}"


def sql_for(d: Dialect, r: dict, state: dict) -> list[str]:
    """The statements that answer `r` (services needs two, like PostHog's)."""
    kind = r["kind"]
    w = where(d, r)
    if kind == "list":
        # The second page is the rows after the first hundred. Rows sharing the page edge's timestamp are ordered by
        # ids only quarry has, so the peers take the plain offset: its timestamps are what quarry's cursor page
        # must hold, ties or not (a keyset `ts < last` would drop the tied rows).
        # Every column comes back, as in quarry's answer: a list shows whole rows. (Until session 7 the peers
        # selected the timestamp alone, a smaller job than quarry's.) Answers are compared by timestamp.
        offset = " OFFSET 100" if r.get("page") == 2 else ""
        return [f"SELECT {micros(d)}, * FROM logs WHERE {w} ORDER BY {d.ts} DESC LIMIT 100{offset}"]
    if kind == "count":
        return [f"SELECT count(*) FROM logs WHERE {w}"]
    if kind == "ranges":
        width, _ = ref.pick_interval(r["end"] - r["start"], 10)
        return [f"SELECT {bucket(d, width)} AS b, count(*) FROM logs WHERE {w} GROUP BY b ORDER BY b"]
    if kind == "sparkline":
        width, _ = ref.pick_interval(r["end"] - r["start"], 50)
        label = d.sev if r["by"] == "severity" else d.svc
        return [f"""
            WITH hits AS (SELECT {bucket(d, width)} AS b, {label} AS v FROM logs WHERE {w}),
                 ranked AS (SELECT v, row_number() OVER (ORDER BY count(*) DESC, v) AS n FROM hits GROUP BY v)
            SELECT b, CASE WHEN n <= 10 THEN hits.v ELSE '{ref.OTHER}' END AS v2, count(*) AS c
            FROM hits JOIN ranked ON hits.v = ranked.v GROUP BY b, v2 ORDER BY b, v2"""]
    if kind == "services":
        width, _ = ref.pick_interval(r["end"] - r["start"], 50)
        return [
            f"""SELECT {d.svc} AS s, count(*) AS n,
                       sum(CASE WHEN {d.sev} IN ('error', 'fatal') THEN 1 ELSE 0 END),
                       sum(CASE WHEN {d.sev} IN ('trace', 'debug') THEN 1 ELSE 0 END),
                       sum(CASE WHEN {d.sev} = 'info' THEN 1 ELSE 0 END),
                       sum(CASE WHEN {d.sev} = 'warn' THEN 1 ELSE 0 END)
                FROM logs WHERE {w} GROUP BY s ORDER BY n DESC, s""",
            f"SELECT {bucket(d, width)} AS b, {d.svc} AS s, count(*) FROM logs WHERE {w} GROUP BY b, s ORDER BY b, s",
        ]
    if kind == "values":
        k = r["key"]
        return [f"""SELECT {d.attrs}['{k}'] AS v, count(*) AS n FROM logs WHERE {w} AND {d.attrs}['{k}'] IS NOT NULL
                    AND {d.attrs}['{k}'] != '' GROUP BY v ORDER BY n DESC, v LIMIT 100"""
                if d is CH else
                f"""SELECT {d.attrs}['{k}'] AS v, count(*) AS n FROM logs WHERE {w} AND {d.attrs}['{k}'] IS NOT NULL
                    GROUP BY v ORDER BY n DESC, v LIMIT 100"""]
    if kind == "keys":
        n = r["needle"]
        if d is CH:
            return [f"""SELECT DISTINCT k FROM (SELECT arrayJoin(mapKeys({d.attrs})) AS k FROM logs WHERE {w})
                        WHERE positionCaseInsensitive(k, '{n}') > 0 ORDER BY k"""]
        return [f"""SELECT DISTINCT k FROM (SELECT unnest(map_keys({d.attrs})) AS k FROM logs WHERE {w})
                    WHERE contains(lower(k), '{n}') ORDER BY k"""]
    raise ValueError(kind)


# ------------------------------------------------------------------------------------------------------------
# Normalised answers: what every engine must agree on.
# ------------------------------------------------------------------------------------------------------------

def spine(r: dict, width_s: int, cells: list) -> list:
    """Adds the "(no value)" zero rows of empty buckets (spec §3.4.2) and sorts."""
    out = {(b, v): c for b, v, c in cells}
    width = width_s * NS
    first = r["start"] // width * width
    last = max(first, (r["end"] - 1) // width * width)
    filled = {b for b, _ in out}
    for t in range(first, last + 1, width):
        if t // NS not in filled:
            out[(t // NS, "(no value)")] = 0
    return sorted([b, v, c] for (b, v), c in out.items())


def from_sql(r: dict, rows: list[list]) -> object:
    kind = r["kind"]
    if kind == "list":
        return [int(row[0]) for row in rows[0]]
    if kind == "count":
        return int(rows[0][0][0])
    if kind == "ranges":
        return [[int(b), int(c)] for b, c in rows[0] if c]
    if kind == "sparkline":
        width, _ = ref.pick_interval(r["end"] - r["start"], 50)
        return spine(r, width, [(int(b), v, int(c)) for b, v, c in rows[0]])
    if kind == "services":
        per, spark = rows
        return {"services": [[s, int(n), int(e), int(db), int(i), int(wn)] for s, n, e, db, i, wn in per],
                "sparkline": [[int(b), s, int(c)] for b, s, c in spark]}
    if kind == "values":
        return [[v, int(n)] for v, n in rows[0]]
    if kind == "keys":
        return sorted(k for (k,) in rows[0])
    raise ValueError(kind)


def from_quarry(r: dict, answer: dict) -> object:
    kind = r["kind"]
    if kind == "list":
        return [ref.parse_iso(x["timestamp"]) // 1000 for x in answer["results"]]
    if kind == "count":
        return answer["count"]
    if kind == "ranges":
        return [[ref.parse_iso(x["date_from"]) // NS, x["count"]] for x in answer["ranges"]]
    if kind == "sparkline":
        key = "service" if r["by"] == "service" else "severity"
        return sorted([ref.parse_iso(p["time"]) // NS, p[key], p["count"]] for p in (answer if isinstance(answer, list) else answer["points"]))
    if kind == "services":
        return {"services": [[s["service_name"], s["log_count"], s["error_count"], s["severity_breakdown"]["debug"],
                              s["severity_breakdown"]["info"], s["severity_breakdown"]["warn"]]
                             for s in answer["services"]],
                "sparkline": [[ref.parse_iso(p["time"]) // NS, p["service_name"], p["count"]]
                              for p in answer["sparkline"]]}
    if kind == "values":
        return [[v["name"], v["count"]] for v in answer["results"]]
    if kind == "keys":
        return sorted(a["name"] for a in answer["results"] if a["propertyFilterType"] == "log_attribute")
    raise ValueError(kind)


def lists_agree(a: list, b: list) -> bool:
    """List pages: the timestamps (seconds, in order) must be equal (ties are ordered by ids only quarry has)."""
    return a == b


# ------------------------------------------------------------------------------------------------------------
# Workers: one process per engine and step, so peak memory is each engine's own.
# ------------------------------------------------------------------------------------------------------------

CH_SCHEMA = """
CREATE TABLE logs (
    uuid String DEFAULT toString(generateUUIDv7()),
    team_id Int32,
    trace_id String,
    span_id String,
    trace_flags Int32,
    timestamp DateTime64(6),
    observed_timestamp DateTime64(6),
    body String,
    severity_text LowCardinality(String),
    severity_number Int32,
    service_name LowCardinality(String),
    resource_attributes Map(LowCardinality(String), String),
    resource_fingerprint UInt64 MATERIALIZED cityHash64(resource_attributes),
    attributes Map(LowCardinality(String), String),
    time_bucket DateTime MATERIALIZED toStartOfDay(timestamp),
    _bytes_uncompressed UInt64,
    INDEX idx_severity_text severity_text TYPE set(10) GRANULARITY 1,
    INDEX idx_attr_keys mapKeys(attributes) TYPE bloom_filter(0.01) GRANULARITY 1,
    INDEX idx_attr_values mapValues(attributes) TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_body_ngram3 lower(body) TYPE ngrambf_v1(3, 25000, 2, 0) GRANULARITY 1,
    INDEX idx_timestamp timestamp TYPE minmax GRANULARITY 1,
    INDEX idx_observed observed_timestamp TYPE minmax GRANULARITY 1,
    PROJECTION projection_aggregate_counts (
        SELECT team_id, time_bucket, toStartOfMinute(timestamp), service_name, severity_text,
               resource_fingerprint, count()
        GROUP BY team_id, time_bucket, toStartOfMinute(timestamp), service_name, severity_text, resource_fingerprint
    )
) ENGINE = MergeTree
PARTITION BY toDate(timestamp)
ORDER BY (team_id, time_bucket, service_name, resource_fingerprint, severity_text, timestamp)
SETTINGS index_granularity = 8192
"""

CH_INSERT = """
INSERT INTO logs (team_id, trace_id, span_id, trace_flags, timestamp, observed_timestamp, body, severity_text,
                  severity_number, service_name, resource_attributes, attributes, _bytes_uncompressed)
SELECT 1, base64Encode(unhex(trace_id)), base64Encode(unhex(span_id)), trace_flags,
       parseDateTime64BestEffort(timestamp, 6, 'UTC'), now64(6), body, severity_text, severity_number,
       service_name, resource_attributes, attributes,
       length(body) + arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(attributes), mapValues(attributes)))
         + arraySum(arrayMap((k, v) -> length(k) + length(v), mapKeys(resource_attributes),
                             mapValues(resource_attributes)))
FROM file('{path}', 'JSONEachRow', 'timestamp String, severity_text String, severity_number Int32,
          service_name String, body String, trace_id String, span_id String, trace_flags Int32,
          attributes Map(String, String), resource_attributes Map(String, String)')
"""

DUCK_INSERT = """
CREATE TABLE logs AS
SELECT strptime(timestamp, ['%Y-%m-%dT%H:%M:%S.%fZ', '%Y-%m-%dT%H:%M:%SZ']) AS ts, body, severity_text AS severity,
       service_name AS service, trace_id, span_id, attributes AS attrs, resource_attributes AS res
FROM read_json('{path}', format = 'newline_delimited', columns = {{timestamp: 'VARCHAR', severity_text: 'VARCHAR',
     severity_number: 'INTEGER', service_name: 'VARCHAR', body: 'VARCHAR', trace_id: 'VARCHAR',
     span_id: 'VARCHAR', trace_flags: 'INTEGER', attributes: 'MAP(VARCHAR, VARCHAR)',
     resource_attributes: 'MAP(VARCHAR, VARCHAR)'}})
"""


def connect(engine: str, work: str):
    if engine == "chdb":
        from chdb import session
        return session.Session(os.path.join(work, "chdb"))
    import duckdb
    if engine == "duckdb":
        return duckdb.connect(os.path.join(work, "duckdb.db"))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    glob = os.path.join(work, "quarry", "team=1", "**", "*.parquet")
    con.execute(f"CREATE VIEW logs AS SELECT * FROM read_parquet('{glob}', hive_partitioning = true)")
    return con


def fetch(engine: str, con, sql: str) -> list:
    if engine == "chdb":
        return json.loads(con.query(sql, "JSONCompact").bytes())["data"]
    return [list(r) for r in con.execute(sql).fetchall()]


def worker(args) -> int:
    engine, action, work = args.engine, args.action, args.work
    if action == "ingest":
        path = os.path.join(work, "logs.jsonl")
        con = connect(engine, work)
        if engine == "chdb":
            con.query(CH_SCHEMA)
            con.query(CH_INSERT.format(path=path))
            n = fetch(engine, con, "SELECT count() FROM logs")[0][0]
        else:
            con.execute(DUCK_INSERT.format(path=path))
            con.execute("CHECKPOINT")
            n = con.execute("SELECT count(*) FROM logs").fetchone()[0]
        print(json.dumps({"rows": int(n)}))
        return 0
    dialect = {"chdb": CH, "duckdb": DUCK, "duckdb-parquet": DUCK_PARQUET}[engine]
    con = connect(engine, work)
    state = {"last_ts_us": {}}
    for r in mix():
        stmts = sql_for(dialect, r, state)
        for _ in range(args.warmup):
            for s in stmts:
                fetch(engine, con, s)
        times = []
        rows = None
        for _ in range(args.runs):
            t = time.perf_counter()
            rows = [fetch(engine, con, s) for s in stmts]
            times.append((time.perf_counter() - t) * 1e3)
        answer = from_sql(r, rows)
        if r["kind"] == "list":
            # The keyset of a next page: the last timestamp, in microseconds.
            state["last_ts_us"][r["name"]] = answer[-1] if answer else 0
        print(json.dumps({"name": r["name"], "median_ms": statistics.median(times), "min_ms": min(times),
                          "answer": answer}), flush=True)
    return 0


def micros(d: Dialect) -> str:
    if d is CH:
        return f"toUnixTimestamp64Micro({d.ts})"
    if d is DUCK_PARQUET:
        return f"epoch_ns({d.ts}) // 1000"  # quarry's nanosecond timestamps read as TIMESTAMPTZ_NS
    return f"epoch_us({d.ts})"


# ------------------------------------------------------------------------------------------------------------
# The driver.
# ------------------------------------------------------------------------------------------------------------

def timed(cmd: list[str], env=None) -> tuple[str, float, int]:
    """Runs `cmd`; returns (stdout, wall seconds, peak RSS in bytes of that process)."""
    t = time.perf_counter()
    # stderr goes to a file: a pipe left unread while stdout is drained would block a chatty child.
    with tempfile.TemporaryFile(mode="w+") as errf:
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errf, text=True, env=env)
        out_chunks = []
        for line in p.stdout:
            out_chunks.append(line)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t
        errf.seek(0)
        err = errf.read()
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{err[-3000:]}")
    return "".join(out_chunks), wall, usage.ru_maxrss * 1024


def du(path: str) -> int:
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def driver(args) -> int:
    work = os.path.join(REPO, "target", "peers", f"rows-{args.rows}")
    os.makedirs(work, exist_ok=True)
    logs = os.path.join(work, "logs.jsonl")
    if not os.path.exists(logs):
        subprocess.run([args.quarry, "gen", "--rows", str(args.rows), "--seed", "42", "--out", logs], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    me = [sys.executable, os.path.abspath(__file__)]
    engines = {}
    for d in ("quarry", "chdb", "duckdb.db"):
        p = os.path.join(work, d)
        if os.path.isdir(p):
            subprocess.run(["rm", "-rf", p], check=True)
        elif os.path.exists(p):
            os.remove(p)
    print(f"== ingest {args.rows:,} rows of JSON Lines ({os.path.getsize(logs) / 1e6:.0f} MB), "
          f"{args.ingest_runs} round(s)", file=sys.stderr)
    # Each round ingests the file into every engine in turn, and each engine's rate is the median of its rounds:
    # on a shared, noisy machine a single import moves by 15-20% between sittings and within one, and rounds
    # alternate the engines so that a slow spell falls on all of them. The stores of the last round are queried.
    #
    # `quarry --wal`: the same import with every chunk logged and fsynced in the WAL first (a file is loaded unlogged
    # by default, acknowledged by the command's exit after its final flush), for the reader who wants that price
    # too. Neither peer logs a bulk insert: chDB writes MergeTree parts directly (without fsync, its default),
    # DuckDB writes its database file.
    logged = os.path.join(work, "quarry-wal")
    stores = {"quarry": os.path.join(work, "quarry"), "quarry --wal": logged, "chdb": os.path.join(work, "chdb"),
              "duckdb": os.path.join(work, "duckdb.db")}
    walls = {e: [] for e in stores}
    for _ in range(args.ingest_runs):
        for engine, store in stores.items():
            subprocess.run(["rm", "-rf", store], check=True)
            if engine.startswith("quarry"):
                wal = engine == "quarry --wal"
                cmd = [args.quarry, "--data", store, "ingest"] + (["--wal"] if wal else []) + ["--json", logs]
                out, wall, rss = timed(cmd)
                summary = json.loads(out)
                assert (summary["accepted"], summary["wal"]) == (args.rows, wal), summary
            else:
                out, wall, rss = timed(me + ["worker", engine, "ingest", work])
                rows = json.loads(out.strip().splitlines()[-1])["rows"]
                assert rows == args.rows, f"{engine} holds {rows} rows"
            walls[engine].append(wall)
            size = du(store) if os.path.isdir(store) else os.path.getsize(store)
            engines[engine] = {"ingest_s": statistics.median(walls[engine]), "ingest_runs": list(walls[engine]),
                               "ingest_rss": max(rss, engines.get(engine, {}).get("ingest_rss", 0)), "bytes": size}
    engines["quarry --wal"]["query_rss"] = None
    subprocess.run(["rm", "-rf", logged], check=True)
    engines["duckdb-parquet"] = {"ingest_s": None, "ingest_rss": None, "bytes": engines["quarry"]["bytes"]}

    requests = []
    for r in mix():
        req = {"name": r["name"], "endpoint": r["endpoint"]}
        for k in ("body", "params", "after_from"):
            if k in r:
                req[k] = r[k]
        requests.append(req)
    req_path = os.path.join(work, "requests.json")
    with open(req_path, "w") as f:
        json.dump(requests, f)
    results = {}
    print("== queries: quarry", file=sys.stderr)
    out, _, rss = timed([args.runner, os.path.join(work, "quarry"), req_path, NOW, str(args.runs), str(args.warmup)])
    results["quarry"] = {json.loads(l)["name"]: json.loads(l) for l in out.splitlines() if l.strip()}
    engines["quarry"]["query_rss"] = rss
    for engine in ("chdb", "duckdb", "duckdb-parquet"):
        print(f"== queries: {engine}", file=sys.stderr)
        out, _, rss = timed(me + ["worker", engine, "query", work, "--runs", str(args.runs), "--warmup",
                                  str(args.warmup)])
        results[engine] = {json.loads(l)["name"]: json.loads(l) for l in out.splitlines() if l.strip()}
        engines[engine]["query_rss"] = rss

    mismatches = []
    reqs = {r["name"]: r for r in mix()}
    for name, r in reqs.items():
        want = from_quarry(r, results["quarry"][name]["answer"])
        for engine in ("chdb", "duckdb", "duckdb-parquet"):
            got = results[engine][name]["answer"]
            if got != want:
                mismatches.append(f"{engine}: {name}\n  quarry: {json.dumps(want)[:600]}\n  {engine}: "
                                  f"{json.dumps(got)[:600]}")
    table = render(args, engines, results, reqs)
    print(table)
    if args.out:
        with open(args.out, "w") as f:
            f.write(table)
    if mismatches:
        print(f"{len(mismatches)} answers differ from quarry's:\n" + "\n".join(mismatches), file=sys.stderr)
        return 1
    return 0


def render(args, engines, results, reqs) -> str:
    peers = ("chdb", "duckdb", "duckdb-parquet")
    lines = [f"Rows: {args.rows:,}; medians of {args.runs} runs after {args.warmup} warm-up; ratio = peer / quarry "
             "(> 1: quarry is faster).", "",
             "| request | quarry ms | chDB ms | ratio | DuckDB ms | ratio | DuckDB on quarry's Parquet ms | ratio |",
             "|---|---|---|---|---|---|---|---|"]
    logs = {p: [] for p in peers}
    for name in reqs:
        q = results["quarry"][name]["median_ms"]
        cells = [f"{q:.2f}"]
        for p in peers:
            m = results[p][name]["median_ms"]
            ratio = m / q if q > 0 else float("inf")
            logs[p].append(math.log(ratio))
            cells += [f"{m:.2f}", f"{ratio:.1f}×"]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    geo = [f"{math.exp(sum(v) / len(v)):.1f}×" for v in logs.values()]
    lines.append(f"| **geometric mean of ratios** | | | {geo[0]} | | {geo[1]} | | {geo[2]} |")
    lines += ["", f"| engine | ingest rows/s (median of {args.ingest_runs}) | ingest runs, s | bytes/row on disk "
              "| peak RSS ingest | peak RSS queries |",
              "|---|---|---|---|---|---|"]
    for e, v in engines.items():
        rate = f"{args.rows / v['ingest_s']:,.0f}" if v["ingest_s"] else "(reads quarry's files)"
        runs = ", ".join(f"{w:.2f}" for w in v.get("ingest_runs", [])) or "—"
        rss_i = f"{v['ingest_rss'] / 2**20:,.0f} MiB" if v["ingest_rss"] else "—"
        rss_q = f"{v['query_rss'] / 2**20:,.0f} MiB" if v["query_rss"] else "(queries as quarry)"
        lines.append(f"| {e} | {rate} | {runs} | {v['bytes'] / args.rows:.1f} | {rss_i} | {rss_q} |")
    if "chdb" in engines and engines["quarry"]["ingest_s"]:
        ratio = engines["chdb"]["ingest_s"] / engines["quarry"]["ingest_s"]
        lines += ["", f"Ingest, quarry against chDB: {ratio:.2f}× its rate (medians)."]
    return "\n".join(lines) + "\n"


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")
    w.add_argument("engine")
    w.add_argument("action")
    w.add_argument("work")
    w.add_argument("--runs", type=int, default=5)
    w.add_argument("--warmup", type=int, default=1)
    d = sub.add_parser("run")
    d.add_argument("--quarry", required=True)
    d.add_argument("--runner", required=True)
    d.add_argument("--rows", type=int, default=10_000_000)
    d.add_argument("--runs", type=int, default=5)
    d.add_argument("--warmup", type=int, default=1)
    d.add_argument("--ingest-runs", type=int, default=3, help="rounds of ingest into every engine (median)")
    d.add_argument("--out")
    args = p.parse_args()
    if args.cmd == "worker":
        return worker(args)
    return driver(args)


if __name__ == "__main__":
    sys.exit(main())

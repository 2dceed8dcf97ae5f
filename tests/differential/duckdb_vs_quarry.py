#!/usr/bin/env python3
"""Differential test: quarry, served over HTTP, against DuckDB SQL over the same records.

Usage: duckdb_vs_quarry.py QUARRY_BINARY WORK_DIR [--requests N] [--seed S] [--rows R]

1. Builds the records: `quarry gen --rows R --seed S` (team 1) and the LogHub sample (team 2), as JSON Lines.
2. quarry: `quarry ingest` writes most of each team's lines to Parquet; `quarry serve` starts on a loopback port
   and the rest of team 1's lines arrive over HTTP (`/v1/logs`), so answers span files and the memtable.
3. DuckDB: the same lines, read by this script's own loader (the Python reference of
   `testdata/cases/loghub/generate.py`: timestamps, severity rules, attribute rendering, `bytes_uncompressed`),
   become one table `logs(team, ts, body, severity, service, attrs MAP, res MAP, nbytes)`.
4. N seeded random requests (absolute date ranges at µs/ns precision, severities, services, search terms, filter
   trees nested to depth 3 over 22 operators, limits, both orders): each is answered by quarry (`count`,
   `count-ranges`, `sparkline`, `services`, `values`, and two `query` pages joined by the cursor) and by SQL over
   the DuckDB table (filters, buckets, group-bys, ranking and paging in SQL; only the response shaping — ISO
   formatting, top-10 folding of the sparkline, rounding of rates — in Python).
5. Any difference is printed with the request and the seed that reproduces it, and the run fails.

Left out of the random filters, and tested elsewhere (the Rust property test against the oracle): the
`is_date_*` operators (SQL has no ISO-8601 parser of quarry's grammar), `trace_id`/`span_id` leaves and relative
date ranges (the server resolves them against its own clock). Rows with equal timestamps are ordered by uuid,
which only quarry assigns: `query` pages are compared by their timestamps in order, and by the multiset of row
contents per timestamp, except the last timestamp of the compared prefix (which of the tied rows a page holds
depends on the uuids).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict

import duckdb

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "testdata", "cases", "loghub"))
import generate as ref  # noqa: E402  (the Python reference: parsing, severity rules, pickers, ISO formats)

NS = ref.NS
TOKENS = {1: "phc_differential_team_1", 2: "phc_differential_team_2"}
TEXT_OPS = ["icontains", "not_icontains", "regex", "not_regex", "starts_with", "not_starts_with", "ends_with",
            "not_ends_with"]
COMPARE_OPS = ["exact", "is_not", "in", "not_in", "gt", "gte", "lt", "lte", "min", "max", "between", "not_between"]
NEGATIVE = {"is_not", "not_in", "not_icontains", "not_regex", "not_starts_with", "not_ends_with", "not_between",
            "is_not_set"}
LEVELS = ["trace", "debug", "info", "warn", "error", "fatal"]


# ------------------------------------------------------------------------------------------------------------
# The records.
# ------------------------------------------------------------------------------------------------------------

def load_lines(path: str) -> list[str]:
    with open(path, encoding="utf-8") as f:
        return [line for line in f if line.strip()]


def reference_rows(lines: list[str]) -> list[ref.Row]:
    return [ref.Row(json.loads(line)) for line in lines]


def build_duckdb(teams: dict[int, list[ref.Row]], work: str) -> duckdb.DuckDBPyConnection:
    """One table of every team's rows, as the reference loader reads them."""
    flat = os.path.join(work, "duckdb-input.jsonl")
    with open(flat, "w", encoding="utf-8") as f:
        for team, rows in teams.items():
            for r in rows:
                res = dict(r.res)
                res.setdefault("service.name", r.service)  # every resource carries service.name (spec §1.2)
                f.write(json.dumps({
                    "team": team, "ts": r.ts, "body": r.body, "severity": r.severity, "service": r.service,
                    "attrs": r.attrs, "res": res, "nbytes": r.nbytes,
                }) + "\n")
    con = duckdb.connect()
    con.execute(
        "CREATE TABLE logs AS SELECT * FROM read_json(?, format = 'newline_delimited', columns = {"
        "team: 'INTEGER', ts: 'BIGINT', body: 'VARCHAR', severity: 'VARCHAR', service: 'VARCHAR', "
        "attrs: 'MAP(VARCHAR, VARCHAR)', res: 'MAP(VARCHAR, VARCHAR)', nbytes: 'BIGINT'})",
        [flat],
    )
    return con


# ------------------------------------------------------------------------------------------------------------
# quarry over HTTP.
# ------------------------------------------------------------------------------------------------------------

class Server:
    def __init__(self, binary: str, data: str):
        args = [binary, "--data", data, "serve", "--listen", "127.0.0.1:0"]
        for team, token in TOKENS.items():
            args += ["--token", f"{token}={team}"]
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self.proc.kill()
            sys.exit(f"quarry serve did not start: {line!r}")
        self.base = line.removeprefix("listening on ")

    def call(self, team: int, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> tuple[int, object]:
        req = urllib.request.Request(self.base + path, data=body, method=method, headers={
            "Authorization": f"Bearer {TOKENS[team]}", "Content-Type": content_type})
        try:
            with urllib.request.urlopen(req, timeout=120) as resp:
                return resp.status, json.loads(resp.read())
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, team: int, action: str, body: dict):
        status, out = self.call(team, "POST", f"/api/projects/{team}/logs/{action}", json.dumps(body).encode())
        if status != 200:
            raise RuntimeError(f"{action}: HTTP {status}: {out}")
        return out

    def get(self, team: int, action: str, params: list[tuple[str, str]]):
        path = f"/api/projects/{team}/logs/{action}?" + urllib.parse.urlencode(params)
        status, out = self.call(team, "GET", path)
        if status != 200:
            raise RuntimeError(f"{action}: HTTP {status}: {out}")
        return out

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=60)


# ------------------------------------------------------------------------------------------------------------
# Random requests.
# ------------------------------------------------------------------------------------------------------------

class Gen:
    def __init__(self, rng: random.Random, rows: list[ref.Row], lo: int, hi: int):
        self.rng, self.rows, self.lo, self.hi = rng, rows, lo, hi
        self.attr_keys = sorted({k for r in rows[:2000] for k in r.attrs}) + ["no.such.key"]
        self.res_keys = sorted({k for r in rows[:2000] for k in r.res} | {"service.name"}) + ["absent"]

    def row(self) -> ref.Row:
        return self.rng.choice(self.rows)

    def piece(self, s: str) -> str:
        if not s:
            return s
        n = len(s)
        a = self.rng.randrange(n)
        b = self.rng.randrange(a, n) + 1
        p = self.rng.choice([s, s[:b], s[a:], s[a:b]])
        return p.upper() if self.rng.random() < 0.3 else p

    def instant(self) -> str:
        t = self.rng.randrange(self.lo - 600 * NS, self.hi + 600 * NS)
        kind = self.rng.randrange(5)
        if kind == 4:
            t = self.row().ts  # exactly a row's timestamp: the half-open bounds must include or exclude it
        elif kind == 0:
            t -= t % (60 * NS)  # whole minutes: the rollup path
        elif kind == 1:
            t -= t % 1000  # microseconds
        text = ref.format_iso(t)
        return text.removesuffix("Z") if self.rng.random() < 0.2 else text  # naive = UTC

    def date_range(self) -> dict:
        a, b = self.instant(), self.instant()
        if ref.parse_iso(a) > ref.parse_iso(b):
            a, b = b, a
        # Always both bounds: a date_to left to the server's clock would move between quarry's answer and the
        # SQL's, and with it bucket widths and zero-filled buckets.
        return {"date_from": a, "date_to": b}

    def sample(self, typ: str, key: str) -> str | None:
        r = self.row()
        if typ == "log":
            return {"message": r.body, "severity_level": r.severity, "service_name": r.service}[key]
        if typ == "log_attribute":
            return r.attrs.get(key)
        res = dict(r.res)
        res.setdefault("service.name", r.service)
        return res.get(key)

    def leaf(self) -> dict:
        rng = self.rng
        typ = rng.choice(["log", "log_attribute", "log_resource_attribute"])
        if typ == "log":
            key = rng.choice(["message", "severity_level", "service_name"])
        elif typ == "log_attribute":
            key = rng.choice(self.attr_keys)
        else:
            key = rng.choice(self.res_keys)
        op = rng.choice(TEXT_OPS + COMPARE_OPS + ["is_set", "is_not_set"])
        sample = self.sample(typ, key)
        if sample is None:
            sample = self.sample(typ, key) or "GET"
        numeric = ref.parse_number(sample) is not None
        f = {"key": key, "type": typ, "operator": op}
        if op in ("is_set", "is_not_set"):
            return f
        if op in ("icontains", "not_icontains", "starts_with", "not_starts_with", "ends_with", "not_ends_with"):
            f["value"] = self.piece(sample)
        elif op in ("regex", "not_regex"):
            p = regex_escape(self.piece(sample))
            f["value"] = rng.choice([f"^{p}", f"{p}$", f"(?i){p}|zzz", p])
        elif op in ("between", "not_between"):
            base = float(ref.parse_number(sample)) if numeric else float(rng.randrange(500))
            lo = base - rng.randrange(50)
            f["value"] = [lo, lo + rng.randrange(200)]
        elif op in ("exact", "is_not", "in", "not_in"):
            if op in ("in", "not_in") or rng.random() < 0.3:
                vals = [sample] + [self.sample(typ, key) or "x" for _ in range(rng.randrange(3))]
                f["value"] = vals
            elif numeric and rng.random() < 0.5:
                f["value"] = ref.parse_number(sample)
            else:
                f["value"] = sample
        else:  # gt, gte, lt, lte, min, max
            f["value"] = (ref.parse_number(sample) + rng.randrange(3) - 1) if numeric else sample
        return f

    def group(self, depth: int) -> dict:
        values = [self.group(depth + 1) if depth < 3 and self.rng.random() < 0.3 else self.leaf()
                  for _ in range(self.rng.randrange(4))]
        return {"type": self.rng.choice(["AND", "OR"]), "values": values}

    def query(self) -> dict:
        rng = self.rng
        q: dict = {"dateRange": self.date_range()}
        if rng.random() < 0.3:
            q["severityLevels"] = rng.sample(LEVELS, rng.randrange(1, 4))
        if rng.random() < 0.3:
            q["serviceNames"] = sorted({self.row().service for _ in range(rng.randrange(1, 4))})
        if rng.random() < 0.25:
            words = self.row().body.split(" ")
            q["searchTerm"] = self.piece(words[rng.randrange(min(3, len(words)))]) or "e"
        if rng.random() < 0.7:
            q["filterGroup"] = [self.leaf() for _ in range(rng.randrange(1, 3))] if rng.random() < 0.2 \
                else self.group(1)
        q["limit"] = rng.randrange(1, 120)
        q["orderBy"] = rng.choice(["latest", "earliest"])
        q["targetBuckets"] = rng.randrange(1, 101)
        if rng.random() < 0.4:
            q["sparklineBreakdownBy"] = "service"
        if rng.random() < 0.3:
            q["sparklineRankBy"] = "bytes"
        if rng.random() < 0.15:
            q["serviceNameSearch"] = self.piece(self.row().service)
        return q


def regex_escape(s: str) -> str:
    """Escapes every character both RE2 and Rust's regex treat as special."""
    return "".join("\\" + c if c in "\\.+*?()|[]{}^$#&-~" else c for c in s)


# ------------------------------------------------------------------------------------------------------------
# The same requests in SQL.
# ------------------------------------------------------------------------------------------------------------

def lit(v) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return repr(float(v))
    return "'" + str(v).replace("'", "''") + "'"


def text_of(v) -> str:
    return ref.value_text(v)


def leaf_sql(f: dict) -> str:
    key, typ, op = f["key"], f["type"], f["operator"]
    if typ == "log":
        x = {"message": "body", "severity_level": "severity", "service_name": "service"}[key]
    else:
        x = f"{'attrs' if typ == 'log_attribute' else 'res'}[{lit(key)}]"
    negative = op in NEGATIVE
    if op in ("is_set", "is_not_set"):
        return f"({x} IS NULL)" if negative else f"({x} IS NOT NULL)"
    raw = f.get("value")
    values = [text_of(v) for v in raw] if isinstance(raw, list) else [text_of(raw)]
    base = {"min": "gte", "max": "lte"}.get(op, op).removeprefix("not_")
    base = {"is_not": "exact"}.get(base, base)
    numeric = base in ("exact", "in", "gt", "gte", "lt", "lte", "between") and values \
        and all(ref.parse_number(v) is not None for v in values)
    if base == "in" and not values:
        return "TRUE"
    subject = f"TRY_CAST(trim({x}) AS DOUBLE)" if numeric else x
    present = f"({subject} IS NOT NULL AND isfinite({subject}))" if numeric else f"({x} IS NOT NULL)"
    cmp = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}

    def one(v: str) -> str:
        lv = str(ref.parse_number(v)) if numeric else lit(v)
        if base in ("exact", "in"):
            return f"{subject} = {lv}"
        if base in cmp:
            return f"{subject} {cmp[base]} {lv}"
        if base == "icontains":
            return f"contains(lower({x}), lower({lit(v)}))"
        if base == "starts_with":
            return f"starts_with(lower({x}), lower({lit(v)}))"
        if base == "ends_with":
            return f"ends_with(lower({x}), lower({lit(v)}))"
        if base == "regex":
            return f"regexp_matches({x}, {lit(v)})"
        raise ValueError(op)

    if base == "between":
        lo, hi = (str(ref.parse_number(v)) for v in values)
        cond = f"{subject} BETWEEN {lo} AND {hi}"
    elif len(values) == 0:
        return "TRUE"  # an empty list filters nothing
    else:
        cond = " OR ".join(f"({one(v)})" for v in values)
    if negative:
        return f"(NOT {present} OR NOT ({cond}))"
    return f"({present} AND ({cond}))"


def node_sql(n) -> str:
    if isinstance(n, list):
        return node_sql({"type": "AND", "values": n})
    if "key" in n:
        return leaf_sql(n)
    parts = [node_sql(c) for c in n["values"]]
    if not parts:
        return "TRUE"  # an empty group (AND or OR) filters nothing
    return "(" + (" AND " if n["type"] == "AND" else " OR ").join(parts) + ")"


def where(team: int, q: dict) -> tuple[str, int, int]:
    dr = q["dateRange"]
    start = ref.parse_iso(dr["date_from"])
    end = ref.parse_iso(dr["date_to"]) if "date_to" in dr else 1 << 62
    c = [f"team = {team}", f"ts >= {start}", f"ts < {end}"]
    if q.get("severityLevels"):
        c.append("severity IN (" + ", ".join(lit(s) for s in q["severityLevels"]) + ")")
    if q.get("serviceNames"):
        c.append("service IN (" + ", ".join(lit(s) for s in q["serviceNames"]) + ")")
    if q.get("searchTerm"):
        c.append(f"contains(lower(body), lower({lit(q['searchTerm'])}))")
    if q.get("filterGroup") is not None:
        c.append(node_sql(q["filterGroup"]))
    return " AND ".join(c), start, end


class Sql:
    def __init__(self, con: duckdb.DuckDBPyConnection, now: int):
        self.con, self.now = con, now

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def count(self, team: int, q: dict) -> dict:
        w, _, _ = where(team, q)
        return {"count": self.rows(f"SELECT count(*) FROM logs WHERE {w}")[0][0]}

    def range_of(self, q: dict) -> tuple[int, int]:
        dr = q["dateRange"]
        return ref.parse_iso(dr["date_from"]), ref.parse_iso(dr["date_to"]) if "date_to" in dr else self.now

    def count_ranges(self, team: int, q: dict) -> dict:
        w, _, _ = where(team, q)
        start, end = self.range_of(q)
        secs, label = ref.pick_interval(max(0, end - start), min(100, max(1, q.get("targetBuckets", 10))))
        width = secs * NS
        got = self.rows(f"SELECT ts // {width} * {width} AS b, count(*) FROM logs WHERE {w} GROUP BY b ORDER BY b")
        return {"ranges": [{"date_from": ref.format_iso_micros(b), "date_to": ref.format_iso_micros(b + width),
                            "count": n} for b, n in got], "interval": label}

    def sparkline(self, team: int, q: dict) -> list:
        w, _, _ = where(team, q)
        start, end = self.range_of(q)
        secs, _ = ref.pick_interval(max(0, end - start), 50)
        width = secs * NS
        by_service = q.get("sparklineBreakdownBy") == "service"
        label = "service" if by_service else "severity"
        rank = "sum(nbytes)" if q.get("sparklineRankBy") == "bytes" else "count(*)"
        # Top ten labels by the rank measure (ties by label), the rest folded into OTHER, in SQL.
        cells = self.rows(f"""
            WITH hits AS (SELECT ts // {width} * {width} AS b, coalesce(nullif({label}, ''), '(no value)') AS v,
                                 nbytes FROM logs WHERE {w}),
                 ranked AS (SELECT v, row_number() OVER (ORDER BY {rank} DESC, v) AS n FROM hits GROUP BY v)
            SELECT b, CASE WHEN n <= 10 THEN hits.v ELSE '{ref.OTHER}' END AS v2, count(*), sum(nbytes)
            FROM hits JOIN ranked USING (v) GROUP BY b, v2 ORDER BY b, v2""")
        points = {(b, v): (c, int(s)) for b, v, c, s in cells}
        first = start // width * width
        last = max(first, (end - 1) // width * width)
        filled = {b for b, _ in points}
        for t in range(first, last + 1, width):  # the zero-filled spine
            if t not in filled:
                points[(t, "(no value)")] = (0, 0)
        key = "service" if by_service else "severity"
        return [{"time": ref.format_iso_micros(t), key: v, "count": c, "bytes_uncompressed": b}
                for (t, v), (c, b) in sorted(points.items())[:1000]]

    def services(self, team: int, q: dict) -> dict:
        w, _, _ = where(team, q)
        start, end = self.range_of(q)
        search = lit(q.get("serviceNameSearch") or "")
        hits = f"""SELECT ts, coalesce(nullif(service, ''), '(no service)') AS name, severity FROM logs
                   WHERE {w} AND contains(lower(service), lower({search}))"""
        per = self.rows(f"""
            SELECT name, count(*) AS n,
                   count(*) FILTER (WHERE severity IN ('error', 'fatal')),
                   count(*) FILTER (WHERE severity IN ('trace', 'debug')),
                   count(*) FILTER (WHERE severity = 'info'),
                   count(*) FILTER (WHERE severity = 'warn')
            FROM ({hits}) GROUP BY name ORDER BY n DESC, name LIMIT 10000""")
        total = sum(r[1] for r in per)
        services = [{
            "service_name": name, "log_count": n, "error_count": err,
            "error_rate": round(err / n, 4) if n else 0.0,
            "severity_breakdown": {"debug": dbg, "info": info, "warn": warn, "error": err},
            "volume_share_pct": round(100 * n / total, 2) if total else 0.0,
            "active_rules": [],
        } for name, n, err, dbg, info, warn in per]
        top = min(5, len(services))
        secs, _ = ref.pick_interval(max(0, end - start), 50)
        width = secs * NS
        spark = self.rows(f"""SELECT ts // {width} * {width} AS b, name, count(*) FROM ({hits})
                              GROUP BY b, name ORDER BY b, name LIMIT 10000""")
        return {
            "services": services,
            "sparkline": [{"time": ref.format_iso_micros(b), "service_name": n, "count": c} for b, n, c in spark],
            "summary": {"top_services_count": top,
                        "top_services_volume_share_pct":
                            round(sum(s["volume_share_pct"] for s in services[:top]), 2) if top else 0.0},
            "total_services": len(per),
        }

    def values(self, team: int, q: dict, key: str, resource: bool, needle: str | None, limit: int,
               offset: int) -> dict:
        qq = {"dateRange": q["dateRange"]}
        for k in ("serviceNames", "filterGroup"):
            if k in q:
                qq[k] = q[k]
        w, _, _ = where(team, qq)
        col = "res" if resource else "attrs"
        counted = "TRUE" if resource else "strlen(e.key) < 256 AND strlen(e.value) < 256"
        match = f"contains(lower(e.value), lower({lit(needle)}))" if needle else "TRUE"
        got = self.rows(f"""
            SELECT e.value, count(*) AS n FROM (SELECT unnest(map_entries({col})) AS e FROM logs WHERE {w})
            WHERE e.key = {lit(key)} AND {counted} AND {match}
            GROUP BY e.value ORDER BY n DESC, e.value LIMIT {limit} OFFSET {offset}""")
        return {"results": [{"id": v, "name": v, "count": n} for v, n in got], "refreshing": False}

    def ordered(self, team: int, q: dict, n: int) -> list[tuple]:
        w, _, _ = where(team, q)
        order = "DESC" if q.get("orderBy", "latest") == "latest" else "ASC"
        return self.rows(f"SELECT ts, body, service, severity FROM logs WHERE {w} ORDER BY ts {order} LIMIT {n}")


# ------------------------------------------------------------------------------------------------------------
# Comparison.
# ------------------------------------------------------------------------------------------------------------

def compare_pages(quarry_rows: list[dict], sql_rows: list[tuple], more: bool, sql_more: bool) -> str | None:
    qr = [(ref.parse_iso(r["timestamp"]), r["body"], r["resource_attributes"].get("service.name", ""),
           r["severity_text"]) for r in quarry_rows]
    if [r[0] for r in qr] != [r[0] for r in sql_rows]:
        return "timestamps differ"
    if more != sql_more:
        return f"hasMore {more} vs {sql_more}"
    if not qr:
        return None
    last = qr[-1][0]
    a = Counter(r for r in qr if r[0] != last)
    b = Counter(r for r in sql_rows if r[0] != last)
    return None if a == b else "row contents differ"


def run(args) -> int:
    work = os.path.abspath(args.work)
    os.makedirs(work, exist_ok=True)
    gen_path = os.path.join(work, "generated.jsonl")
    subprocess.run([args.quarry, "gen", "--rows", str(args.rows), "--seed", str(args.seed), "--out", gen_path],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    loghub = os.path.join(REPO, "testdata", "loghub", "loghub-8-systems.jsonl")
    lines = {1: load_lines(gen_path), 2: load_lines(loghub)}
    teams = {t: reference_rows(ls) for t, ls in lines.items()}

    data = os.path.join(work, "quarry-data")
    shutil.rmtree(data, ignore_errors=True)
    # Team 1: four fifths through `quarry ingest` (Parquet), the rest over HTTP (memtable). Team 2: all Parquet.
    cut = len(lines[1]) * 4 // 5
    for team, part in ((1, lines[1][:cut]), (2, lines[2])):
        path = os.path.join(work, f"team-{team}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            f.writelines(part)
        subprocess.run([args.quarry, "--data", data, "--team", str(team), "ingest", "--json", path], check=True,
                       stdout=subprocess.DEVNULL)
    server = Server(args.quarry, data)
    try:
        for i in range(cut, len(lines[1]), 1000):
            status, out = server.call(1, "POST", "/v1/logs", "".join(lines[1][i:i + 1000]).encode(), "text/plain")
            assert status == 200 and "partialSuccess" not in out, (status, out)
        con = build_duckdb(teams, work)
        sql = Sql(con, time.time_ns())
        for team in teams:
            n_quarry = server.post(team, "count", {"query": {"dateRange": {"date_from": "2000-01-01"}}})["count"]
            assert n_quarry == len(teams[team]), f"team {team}: quarry holds {n_quarry} of {len(teams[team])} rows"
        return compare(args, server, sql, teams)
    finally:
        server.stop()


def compare(args, server: Server, sql: Sql, teams: dict[int, list[ref.Row]]) -> int:
    gens = {}
    for team, rows in teams.items():
        stamps = [r.ts for r in rows]
        gens[team] = (rows, min(stamps), max(stamps))
    mismatches = 0
    selected = 0  # requests that select at least one row (a generator of empty answers would prove nothing)
    checked = Counter()
    started = time.time()
    for i in range(args.requests):
        seed = args.seed * 1_000_003 + i
        rng = random.Random(seed)
        team = 1 if rng.random() < 0.7 else 2
        rows, lo, hi = gens[team]
        g = Gen(rng, rows, lo, hi)
        q = g.query()
        body = {"query": q}

        def check(name: str, got, want) -> None:
            nonlocal mismatches
            checked[name] += 1
            if got != want:
                mismatches += 1
                print(f"MISMATCH {name}: seed {seed} (--seed {args.seed}, request {i}), team {team}\n"
                      f"  request: {json.dumps(body)}\n  quarry:  {json.dumps(got)[:2000]}\n"
                      f"  duckdb:  {json.dumps(want)[:2000]}", file=sys.stderr)

        want_count = sql.count(team, q)
        check("count", server.post(team, "count", body), want_count)
        selected += want_count["count"] > 0
        check("count-ranges", server.post(team, "count-ranges", body), sql.count_ranges(team, q))
        check("sparkline", server.post(team, "sparkline", body), sql.sparkline(team, q))
        got = server.post(team, "services", body)
        check("services", got, sql.services(team, q))
        # values of one key, with the request's range, services and filters
        resource = rng.random() < 0.4
        key = rng.choice(g.res_keys if resource else g.attr_keys)
        needle = g.piece(g.sample("log_resource_attribute" if resource else "log_attribute", key) or "") \
            if rng.random() < 0.3 else None
        limit, offset = rng.randrange(1, 40), rng.choice([0, 0, 0, 1, 3])
        params = [("key", key), ("dateRange", json.dumps(q["dateRange"])), ("limit", str(limit)),
                  ("offset", str(offset))]
        if resource:
            params.append(("attribute_type", "resource"))
        for k in ("serviceNames", "filterGroup"):
            if k in q:
                params.append((k, json.dumps(q[k])))
        if needle:
            params.append(("value", needle))
        check("values", server.get(team, "values", params), sql.values(team, q, key, resource, needle, limit, offset))
        # two query pages, joined by the cursor
        page1 = server.post(team, "query", body)
        pages = list(page1["results"])
        more = page1["hasMore"]
        if more:
            page2 = server.post(team, "query", {"query": {**q, "after": page1["nextCursor"]}})
            pages += page2["results"]
            more = page2["hasMore"]
        want = sql.ordered(team, q, len(pages) + 1)
        problem = compare_pages(pages, want[:len(pages)], more, len(want) > len(pages))
        check("query pages", problem, None)
    took = time.time() - started
    print(f"{args.requests} random requests (seed {args.seed}; {selected} select rows), "
          f"{sum(checked.values())} answers compared ({dict(checked)}) in {took:.1f} s: {mismatches} mismatches")
    if selected < args.requests // 4:
        print(f"only {selected} of {args.requests} requests select a row: the generator is too narrow",
              file=sys.stderr)
        return 1
    return 1 if mismatches else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("quarry")
    p.add_argument("work")
    p.add_argument("--requests", type=int, default=500)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--rows", type=int, default=30_000)
    return run(p.parse_args())


if __name__ == "__main__":
    sys.exit(main())

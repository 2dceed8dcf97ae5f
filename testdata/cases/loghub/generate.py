#!/usr/bin/env python3
"""Independent oracle for the LogHub endpoint cases (standard library only, Python 3.11).

Reads the raw JSON Lines sample (../../loghub/loghub-8-systems.jsonl), evaluates every case below with its own
implementation of the endpoint semantics, and writes one JSON file per case next to this script:

    {"name", "endpoint", "now", "body" | "params", "expected"}

The semantics implemented here are those documented in

* /work/shared/spec/posthog-logs-semantics.md, §2 (request model, dateRange, filterGroup, operators), §3.1-3.3,
  §3.4.1 (interval picker), §3.6-3.8, §4 (severity normalisation);
* quarry's API docs (crates/api/src/filter.rs module docs: operators, absent keys, numeric comparison,
  case-insensitivity; crates/core/src/time.rs: date grammar; crates/plan/src/exec.rs: values/attributes ranking).

Nothing here is copied from quarry's output. Re-running the script rewrites the files byte-identically
(json.dumps(indent=2, sort_keys=True) + "\\n") and removes case files that are no longer listed.

Usage: python3 testdata/cases/loghub/generate.py
"""

from __future__ import annotations

import base64
import calendar
import json
import os
import re
import sys
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "loghub", "loghub-8-systems.jsonl")

NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 3600 * NS
DAY = 86400 * NS

# ---------------------------------------------------------------------------------------------------------------
# Time: ISO-8601 parsing, the few relative forms the cases use, and formatting.
# ---------------------------------------------------------------------------------------------------------------

ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$"
)


def parse_iso(text: str) -> int | None:
    """ISO-8601 date or date-time to nanoseconds since the epoch; a missing offset means UTC."""
    m = ISO_RE.match(text.strip())
    if not m:
        return None
    y, mo, d, hh, mm, ss, frac, off = m.groups()
    if hh is None and off is not None:
        return None
    try:
        secs = calendar.timegm(
            (int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), 0, 0, 0)
        )
    except (ValueError, OverflowError):
        return None
    if not (1 <= int(mo) <= 12) or not (1 <= int(d) <= 31):
        return None
    if int(hh or 0) > 23 or int(mm or 0) > 59 or int(ss or 0) > 60:
        return None
    # calendar.timegm normalises 2026-02-30 silently: reject dates that do not round-trip.
    import time as _time

    t = _time.gmtime(secs)
    if (t.tm_year, t.tm_mon, t.tm_mday) != (int(y), int(mo), int(d)):
        return None
    nanos = secs * NS
    if frac:
        nanos += int(frac.ljust(9, "0"))
    if off and off != "Z":
        sign = 1 if off[0] == "+" else -1
        digits = off[1:].replace(":", "")
        nanos -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * NS
    return nanos


RELATIVE_RE = re.compile(r"^-?(\d*)([sMhdw])(Start)?$")
RELATIVE_UNITS = {"s": NS, "M": MINUTE, "h": HOUR, "d": DAY, "w": 7 * DAY}


def resolve_date(text: str, now: int) -> int:
    """A dateRange bound (time.rs grammar), restricted to the forms the cases use."""
    t = text.strip()
    if t[:1].isdigit() and len(t) >= 10 and t[4:5] == "-":
        v = parse_iso(t)
        if v is None:
            raise ValueError(f"bad ISO date {text!r}")
        return v
    m = RELATIVE_RE.match(t)
    if not m:
        raise ValueError(f"relative form not supported by this oracle: {text!r}")
    amount = int(m.group(1) or "0")
    unit = m.group(2)
    out = now - amount * RELATIVE_UNITS[unit]
    if m.group(3):
        if unit == "d":
            out = out // DAY * DAY
        elif unit == "h":
            out = out // HOUR * HOUR
    return out


def resolve_range(date_range: dict | None, now: int, default_last_hour: bool) -> tuple[int, int]:
    """[from, to) of a request (spec §2.3 as quarry documents it)."""
    if date_range is None:
        if default_last_hour:
            return now - HOUR, now
        date_range = {}
    frm = date_range.get("date_from")
    to = date_range.get("date_to")
    start = resolve_date(frm, now) if frm else (now // DAY) * DAY - 7 * DAY
    end = resolve_date(to, now) if to else now
    return start, end


def _civil(nanos: int) -> str:
    import time as _time

    t = _time.gmtime(nanos // NS)
    return "%04d-%02d-%02dT%02d:%02d:%02d" % (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)


def format_iso(nanos: int) -> str:
    """Row timestamps: RFC 3339 UTC with 0, 3, 6 or 9 fractional digits, as few as needed."""
    sub = nanos % NS
    base = _civil(nanos)
    if sub == 0:
        return base + "Z"
    if sub % 1_000_000 == 0:
        return "%s.%03dZ" % (base, sub // 1_000_000)
    if sub % 1_000 == 0:
        return "%s.%06dZ" % (base, sub // 1_000)
    return "%s.%09dZ" % (base, sub)


def format_iso_micros(nanos: int) -> str:
    """count-ranges bounds (spec §3.3): YYYY-MM-DDTHH:MM:SS[.ffffff]Z."""
    sub = nanos % NS
    base = _civil(nanos)
    if sub == 0:
        return base + "Z"
    if sub % 1000 == 0:
        return "%s.%06dZ" % (base, sub // 1000)
    return "%s.%09dZ" % (base, sub)


# ---------------------------------------------------------------------------------------------------------------
# Rows: the raw file, decoded as ingest stores it.
# ---------------------------------------------------------------------------------------------------------------

SEVERITY_WORDS = {
    "critical": "fatal", "fatal": "fatal", "crit": "fatal", "alert": "fatal", "emerg": "fatal",
    "error": "error", "err": "error", "eror": "error",
    "warn": "warn", "warning": "warn",
    "info": "info", "information": "info", "informational": "info",
    "debug": "debug", "dbug": "debug",
    "trace": "trace",
}
CANONICAL = ["trace", "debug", "info", "warn", "error", "fatal"]


def normalise_severity(text: str, number: int, body: str) -> str:
    """Spec §4: the stored severity_text."""
    out = SEVERITY_WORDS.get((text or "").lower(), "info")
    try:
        obj = json.loads(body)
    except ValueError:
        obj = None
    if isinstance(obj, dict):
        for k in ("level", "severity", "log.level", "config.log_level"):
            v = obj.get(k)
            if isinstance(v, str) and v.lower() in CANONICAL:
                out = v.lower()
                break
    if number > 0:
        buckets = [(4, "trace"), (8, "debug"), (12, "info"), (16, "warn"), (20, "error"), (24, "fatal")]
        out = next((name for hi, name in buckets if number <= hi), "unknown")
    return out


def render(v) -> str:
    return v if isinstance(v, str) else json.dumps(v, separators=(",", ":"))


def id_hex(text: str | None, nbytes: int) -> str:
    """Stored id as uppercase hex; '' for the all-zero (absent/invalid) id."""
    raw = parse_id(text or "", nbytes)
    return "" if raw is None else raw.hex().upper()


def parse_id(text: str, nbytes: int) -> bytes | None:
    t = text.strip()
    if re.fullmatch(r"[0-9a-fA-F]{%d}" % (2 * nbytes), t):
        b = bytes.fromhex(t)
    else:
        try:
            b = base64.b64decode(t + "=" * (-len(t) % 4), validate=True)
        except ValueError:
            return None
        if len(b) != nbytes:
            return None
    return None if b == bytes(nbytes) else b


class Row:
    __slots__ = ("ts", "body", "severity", "service", "trace_id", "span_id", "attrs", "res", "nbytes")

    def __init__(self, rec: dict):
        self.ts = parse_iso(rec["timestamp"])
        self.body = render(rec.get("body")) if rec.get("body") is not None else ""
        self.severity = normalise_severity(rec.get("severity_text", ""), rec.get("severity_number", 0), self.body)
        self.attrs = {k: render(v) for k, v in (rec.get("attributes") or {}).items() if v is not None}
        self.res = {k: render(v) for k, v in (rec.get("resource_attributes") or {}).items() if v is not None}
        self.service = rec.get("service_name") if rec.get("service_name") is not None else self.res.get("service.name", "")
        self.trace_id = id_hex(rec.get("trace_id"), 16)
        self.span_id = id_hex(rec.get("span_id"), 8)
        # Spec §1.5: UTF-8 bytes of the body and of every log and resource attribute key and value (every resource
        # carries service.name, spec §1.2); scope and event name count only past 50 bytes.
        res = dict(self.res)
        res.setdefault("service.name", self.service)
        utf8 = lambda t: len(t.encode("utf-8"))  # noqa: E731
        long = lambda t: utf8(t) if utf8(t) > 50 else 0  # noqa: E731
        self.nbytes = (
            utf8(self.body)
            + sum(utf8(k) + utf8(v) for k, v in self.attrs.items())
            + sum(utf8(k) + utf8(v) for k, v in res.items())
            + long(render(rec.get("instrumentation_scope") or ""))
            + long(render(rec.get("event_name") or ""))
        )


def load_rows() -> list[Row]:
    with open(DATA, encoding="utf-8") as f:
        return [Row(json.loads(line)) for line in f if line.strip()]


# ---------------------------------------------------------------------------------------------------------------
# filterGroup evaluation (filter.rs module docs, spec §2.4/§2.5).
# ---------------------------------------------------------------------------------------------------------------

NUMBER_RE = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")


def parse_number(text: str) -> float | None:
    t = text.strip()
    if not NUMBER_RE.match(t):
        return None
    f = float(t)
    return f if f not in (float("inf"), float("-inf")) else None


NEGATIVE = {
    "is_not": "exact", "not_icontains": "icontains", "not_regex": "regex", "not_between": "between",
    "not_in": "in", "is_not_set": "is_set", "not_starts_with": "starts_with", "not_ends_with": "ends_with",
}
ALIASES = {"min": "gte", "max": "lte"}
COMPARES = {"exact", "in", "gt", "gte", "lt", "lte", "between"}
LOG_FIELDS = {
    "message": "body", "body": "body", "severity_level": "severity", "severity_text": "severity",
    "level": "severity", "service_name": "service", "trace_id": "trace_id", "span_id": "span_id",
}
ABSENT = object()


def value_text(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return json.dumps(v)
    return v


class Leaf:
    def __init__(self, f: dict):
        self.key = f["key"]
        self.type = f["type"]
        op = ALIASES.get(f.get("operator", "exact"), f.get("operator", "exact"))
        self.negative = op in NEGATIVE
        self.op = NEGATIVE.get(op, op)
        raw = f.get("value")
        if self.op == "is_set":
            vals = []
        elif isinstance(raw, list):
            vals = [value_text(v) for v in raw]
        else:
            vals = [value_text(raw)]
        if self.type == "log" and LOG_FIELDS[self.key] in ("trace_id", "span_id"):
            n = 16 if LOG_FIELDS[self.key] == "trace_id" else 8
            vals = [(parse_id(v, n).hex().upper() if parse_id(v, n) else v) for v in vals]
        self.values = vals
        self.numbers = [parse_number(v) for v in vals]
        # Columns of the LogHub cases are all text, so numeric comparison is for attributes only.
        self.numeric = (
            self.type != "log"
            and self.op in COMPARES
            and bool(vals)
            and all(n is not None for n in self.numbers)
        )
        if self.op == "between":
            assert self.numeric and len(vals) == 2, "between needs two numbers"
        self.regexes = [re.compile(v) for v in vals] if self.op == "regex" else []
        self.instant = parse_iso(vals[0]) if self.op.startswith("is_date_") else None
        if self.op.startswith("is_date_"):
            assert self.instant is not None

    def field(self, row: Row):
        if self.type == "log_attribute":
            return row.attrs.get(self.key, ABSENT)
        if self.type == "log_resource_attribute":
            return row.res.get(self.key, ABSENT)
        x = getattr(row, LOG_FIELDS[self.key])
        if self.op == "is_set" and x == "":
            return ABSENT
        return x

    def positive(self, x: str):
        """Whether the positive operator holds; None when x cannot be compared."""
        op = self.op
        if self.numeric:
            xn = parse_number(x)
            if xn is None:
                return None
            ns = self.numbers
            if op in ("exact", "in"):
                return any(xn == v for v in ns)
            if op == "gt":
                return any(xn > v for v in ns)
            if op == "gte":
                return any(xn >= v for v in ns)
            if op == "lt":
                return any(xn < v for v in ns)
            if op == "lte":
                return any(xn <= v for v in ns)
            if op == "between":
                return ns[0] <= xn <= ns[1]
            raise AssertionError(op)
        if op == "is_set":
            return True
        if op in ("exact", "in"):
            return any(x == v for v in self.values)
        if op == "icontains":
            return any(v.lower() in x.lower() for v in self.values)
        if op == "regex":
            return any(r.search(x) for r in self.regexes)
        if op == "starts_with":
            return any(x.lower().startswith(v.lower()) for v in self.values)
        if op == "ends_with":
            return any(x.lower().endswith(v.lower()) for v in self.values)
        if op == "gt":
            return any(x > v for v in self.values)
        if op == "gte":
            return any(x >= v for v in self.values)
        if op == "lt":
            return any(x < v for v in self.values)
        if op == "lte":
            return any(x <= v for v in self.values)
        if op == "between":
            return None
        if op.startswith("is_date_"):
            xt = parse_iso(x)
            if xt is None:
                return None
            return {"is_date_exact": xt == self.instant, "is_date_before": xt < self.instant,
                    "is_date_after": xt > self.instant}[op]
        raise AssertionError(op)

    def matches(self, row: Row) -> bool:
        if not self.values and self.op != "is_set":
            return True  # an empty list is a no-op
        x = self.field(row)
        if x is ABSENT:
            return self.negative
        m = self.positive(x)
        if m is None:
            return self.negative
        return m != self.negative


class Group:
    def __init__(self, op: str, children: list):
        self.op = op.upper()
        self.children = children

    def matches(self, row: Row) -> bool:
        if not self.children:
            return True
        if self.op == "OR":
            return any(c.matches(row) for c in self.children)
        return all(c.matches(row) for c in self.children)


def compile_node(v) -> Group | Leaf:
    if isinstance(v, dict) and "values" in v and "key" not in v:
        return Group(v.get("type", "AND"), [compile_node(c) for c in v["values"]])
    return Leaf(v)


def compile_filter(fg) -> Group | Leaf:
    if fg is None:
        return Group("AND", [])
    if isinstance(fg, list):
        return Group("AND", [compile_node(c) for c in fg])
    return compile_node(fg)


class Pred:
    """The row predicate of one request: time, services, severities, search term, filter tree."""

    def __init__(self, start, end, services=None, severities=None, search=None, fg=None):
        self.start, self.end = start, end
        self.services = set(services) if services else None
        self.severities = set(severities) if severities else None
        self.search = search.lower() if search else None
        self.filter = compile_filter(fg)

    def __call__(self, row: Row) -> bool:
        if not (self.start <= row.ts < self.end):
            return False
        if self.services is not None and row.service not in self.services:
            return False
        if self.severities is not None and row.severity not in self.severities:
            return False
        if self.search is not None and self.search not in row.body.lower():
            return False
        return self.filter.matches(row)


# ---------------------------------------------------------------------------------------------------------------
# Endpoints.
# ---------------------------------------------------------------------------------------------------------------


def body_pred(q: dict, now: int, default_last_hour: bool) -> Pred:
    start, end = resolve_range(q.get("dateRange"), now, default_last_hour)
    return Pred(start, end, q.get("serviceNames"), q.get("severityLevels"), q.get("searchTerm"), q.get("filterGroup"))


def ep_count(rows, body, now):
    pred = body_pred(body["query"], now, True)
    return {"count": sum(1 for r in rows if pred(r))}


CANDIDATES = [1, 5, 10, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400]


def pick_interval(range_ns: int, target: int) -> tuple[int, str]:
    """Spec §3.4.1: closest candidate to range/target (ties to the smaller); minutes when step >= 60 s."""
    target = max(1, target)
    best = min(CANDIDATES, key=lambda c: (abs(c * NS * target - range_ns), c))
    if range_ns >= 60 * NS * target:
        n = best // 60
        label = f"{n // 1440}d" if n % 1440 == 0 else f"{n // 60}h" if n % 60 == 0 else f"{n}m"
    else:
        label = f"{best}s"
    return best, label


def ep_count_ranges(rows, body, now):
    q = body["query"]
    pred = body_pred(q, now, True)
    target = min(100, max(1, q.get("targetBuckets", 10)))
    secs, label = pick_interval(max(0, pred.end - pred.start), target)
    width = secs * NS
    buckets = defaultdict(int)
    for r in rows:
        if pred(r):
            buckets[r.ts // width * width] += 1
    ranges = [
        {"date_from": format_iso_micros(b), "date_to": format_iso_micros(b + width), "count": n}
        for b, n in sorted(buckets.items())
        if n > 0
    ]
    return {"ranges": ranges, "interval": label}


def ordered_hits(q: dict, rows, now):
    """The query's rows in its order (by timestamp; cases avoid ties, whose order depends on uuids)."""
    pred = body_pred(q, now, False)
    hits = [r for r in rows if pred(r)]
    hits.sort(key=lambda r: r.ts, reverse=q.get("orderBy", "latest") == "latest")
    return hits


def ep_query(rows, body, now):
    q = body["query"]
    hits = ordered_hits(q, rows, now)
    requested = min(q.get("limit", 1000), 2000)
    page = hits[:requested]
    for a, b in zip(page, page[1:]):
        assert a.ts != b.ts, "query case with a timestamp tie inside the page"
    if len(hits) > requested:
        assert hits[requested - 1].ts != hits[requested].ts, "query case with a tie at the page edge"
    return {
        "rows": [
            {
                "timestamp": format_iso(r.ts),
                "body": r.body,
                "severity_text": r.severity,
                "service": r.res.get("service.name"),
                "attributes": dict(r.attrs),
            }
            for r in page
        ],
        "hasMore": len(hits) > requested,
    }


def get_params(params):
    """Last value wins, as for a query string."""
    out = {}
    for k, v in params:
        out[k] = v
    return out


def common_pred(p: dict, now: int) -> Pred:
    dr = json.loads(p["dateRange"]) if p.get("dateRange") else None
    start, end = resolve_range(dr, now, False)
    services = json.loads(p["serviceNames"]) if p.get("serviceNames") else None
    fg = json.loads(p["filterGroup"]) if p.get("filterGroup") else None
    return Pred(start, end, services, None, None, fg)


MAX_ATTR_LEN = 256


def attr_pairs(row: Row, resource: bool):
    """The (key, value) pairs values/attributes count: log pairs only when key and value are < 256 bytes."""
    if resource:
        return row.res.items()
    return [
        (k, v) for k, v in row.attrs.items()
        if len(k.encode()) < MAX_ATTR_LEN and len(v.encode()) < MAX_ATTR_LEN
    ]


def int_param(p, name, default, cap):
    v = p.get(name)
    return default if v in (None, "") else min(int(v), cap)


def ep_values(rows, params, now):
    p = get_params(params)
    pred = common_pred(p, now)
    resource = p.get("attribute_type") == "resource"
    key = p["key"]
    needle = p.get("value") or None
    counts = defaultdict(int)
    for r in rows:
        if not pred(r):
            continue
        for k, v in attr_pairs(r, resource):
            if k == key and (needle is None or needle.lower() in v.lower()):
                counts[v] += 1
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    offset = int_param(p, "offset", 0, 1 << 62)
    limit = int_param(p, "limit", 100, 1000)
    return {
        "results": [{"id": v, "name": v, "count": n} for v, n in ranked[offset:offset + limit]],
        "refreshing": False,
    }


def tokens(key: str) -> list[str]:
    return [t for t in re.split(r"[^0-9A-Za-z]+", key.lower()) if t]


def ep_attributes(rows, params, now):
    p = get_params(params)
    pred = common_pred(p, now)
    resource = p.get("attribute_type") == "resource"
    search = p.get("search", "")
    s = search.lower()
    value_mode = (p.get("search_values", "").lower() == "true") and len(search) >= 4
    keys = p.get("keys", "").strip()
    allowed = {k.strip() for k in keys.split(",") if k.strip()} if keys else None
    key_counts = defaultdict(int)
    value_hits = defaultdict(lambda: defaultdict(int))
    for r in rows:
        if not pred(r):
            continue
        for k, v in attr_pairs(r, resource):
            if allowed is not None and k not in allowed:
                continue
            if s in k.lower():
                key_counts[k] += 1
            elif value_mode and s in v.lower():
                value_hits[k][v] += 1

    def rank(items):
        return sorted(items, key=lambda kv: (kv[0].lower() != s, s not in tokens(kv[0]), -kv[1], kv[0]))

    kind = "log_resource_attribute" if resource else "log_attribute"
    items = [{"name": k, "propertyFilterType": kind, "matchedOn": "key"} for k, _ in rank(key_counts.items())]
    total_keys = len(items)
    if value_mode:
        totals = {k: sum(vs.values()) for k, vs in value_hits.items()}
        for k, _ in rank(totals.items()):
            best = min(value_hits[k].items(), key=lambda vn: (-vn[1], vn[0]))[0]
            items.append({"name": k, "propertyFilterType": kind, "matchedOn": "value", "matchedValue": best})
    offset = int_param(p, "offset", 0, 1 << 62)
    limit = int_param(p, "limit", 100, 100)
    page = items[offset:offset + limit]
    return {"results": page, "count": offset + len(page) if value_mode else total_keys}


OTHER = "$$_posthog_breakdown_other_$$"


def ep_sparkline(rows, body, now):
    """Spec §3.4.2 with quarry's exact-count departure: only rows inside [from, to) count; buckets of the §3.4.1
    width (target 50) on the epoch; top 10 values by count (or bytes), ties by value, the rest folded into OTHER;
    "(no value)" for empty values and for the zero rows of empty buckets; sorted by (time, value); 1000 rows."""
    q = body["query"]
    pred = body_pred(q, now, True)
    secs, _ = pick_interval(max(0, pred.end - pred.start), 50)
    width = secs * NS
    by_service = q.get("sparklineBreakdownBy", "severity") == "service"
    rank_bytes = q.get("sparklineRankBy", "count") == "bytes"
    hits = [r for r in rows if pred(r)]
    label = lambda r: (r.service if by_service else r.severity) or "(no value)"  # noqa: E731
    totals = defaultdict(lambda: [0, 0])
    for r in hits:
        totals[label(r)][0] += 1
        totals[label(r)][1] += r.nbytes
    ranked = sorted(totals, key=lambda v: (-totals[v][1 if rank_bytes else 0], v))
    top = set(ranked[:10])
    points = defaultdict(lambda: [0, 0])
    for r in hits:
        v = label(r) if label(r) in top else OTHER
        p = points[(r.ts // width * width, v)]
        p[0] += 1
        p[1] += r.nbytes
    first = pred.start // width * width
    last = max(first, (pred.end - 1) // width * width)
    t = first
    while t <= last:
        if not any(pt == t for pt, _ in points):
            points[(t, "(no value)")] = [0, 0]
        t += width
    key = "service" if by_service else "severity"
    return [
        {"time": format_iso_micros(t), key: v, "count": c, "bytes_uncompressed": b}
        for (t, v), (c, b) in sorted(points.items())[:1000]
    ]


def py_round(x: float, digits: int) -> float:
    return round(x, digits)


def ep_services(rows, body, now):
    """Spec §3.5: per service rows, errors (error + fatal), error rate (4 dp), breakdown, volume share (2 dp) of
    the returned services, the top five's share, the number of services, and a per-service sparkline."""
    q = body["query"]
    pred = body_pred(q, now, True)
    search = (q.get("serviceNameSearch") or "").lower()
    hits = [r for r in rows if pred(r) and search in r.service.lower()]
    name = lambda r: r.service or "(no service)"  # noqa: E731
    per = defaultdict(lambda: {"n": 0, "debug": 0, "info": 0, "warn": 0, "error": 0})
    for r in hits:
        e = per[name(r)]
        e["n"] += 1
        bucket = {"trace": "debug", "debug": "debug", "info": "info", "warn": "warn", "error": "error",
                  "fatal": "error"}.get(r.severity)
        if bucket:
            e[bucket] += 1
    ordered = sorted(per.items(), key=lambda kv: (-kv[1]["n"], kv[0]))[:10000]
    total = sum(e["n"] for _, e in ordered)
    services = [
        {
            "service_name": n,
            "log_count": e["n"],
            "error_count": e["error"],
            "error_rate": round(e["error"] / e["n"], 4) if e["n"] else 0.0,
            "severity_breakdown": {k: e[k] for k in ("debug", "info", "warn", "error")},
            "volume_share_pct": round(100 * e["n"] / total, 2) if total else 0.0,
            "active_rules": [],
        }
        for n, e in ordered
    ]
    top = min(5, len(services))
    secs, _ = pick_interval(max(0, pred.end - pred.start), 50)
    width = secs * NS
    returned = {s["service_name"] for s in services}
    spark = defaultdict(int)
    for r in hits:
        if name(r) in returned:
            spark[(r.ts // width * width, name(r))] += 1
    return {
        "services": services,
        "sparkline": [
            {"time": format_iso_micros(t), "service_name": n, "count": c}
            for (t, n), c in sorted(spark.items())[:10000]
        ],
        "summary": {
            "top_services_count": top,
            "top_services_volume_share_pct": round(sum(s["volume_share_pct"] for s in services[:top]), 2)
            if top else 0.0,
        },
        "total_services": len(per),
    }


def export_filename(q: dict, now: int) -> str:
    """Spec §3.9: logs-{service}-{date}."""
    names = q.get("serviceNames") or []
    if not names:
        service = "all-services"
    elif len(names) == 1:
        service = re.sub(r"[^a-zA-Z0-9_-]", "-", names[0])[:50]
    else:
        service = f"{len(names)}-services"
    dr = q.get("dateRange") or {}
    f, t = dr.get("date_from"), dr.get("date_to")
    if f and t:
        date = f"{f[:10]}-to-{t[:10]}"
    elif f:
        date = f"from-{f[:10]}"
    else:
        date = format_iso(now)[:10]
    return f"logs-{service}-{date}"


def csv_field(text: str) -> str:
    """RFC 4180: quoted (quotes doubled) when it holds a comma, a quote or a line break."""
    if any(c in text for c in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def export_value(r: Row, col: str) -> str:
    if col == "timestamp":
        return format_iso(r.ts)
    if col in ("level", "severity_text"):
        return r.severity
    if col == "service_name":
        return r.service
    if col in ("body", "message"):
        return r.body
    if col == "trace_id":
        return r.trace_id or "0" * 32
    if col == "span_id":
        return r.span_id or "0" * 16
    if col.startswith("resource_attributes."):
        res = dict(r.res)
        res.setdefault("service.name", r.service)
        return res.get(col[len("resource_attributes."):], "")
    if col.startswith("attributes."):
        return r.attrs.get(col[len("attributes."):], "")
    raise ValueError(f"export case column {col!r} is not modelled here")


def ep_export(rows, body, now):
    """CSV export (spec §3.9): the query's rows in its order, at most `limit` (default 10,000)."""
    q = body["query"]
    hits = ordered_hits(q, rows, now)
    page = hits[: q.get("limit", 10000)]
    for a, b in zip(page, page[1:]):
        assert a.ts != b.ts, "export case with a timestamp tie (the order would depend on uuids)"
    if len(hits) > len(page) and page:
        assert hits[len(page) - 1].ts != hits[len(page)].ts, "export case with a tie at the cap"
    cols = body["columns"]
    lines = [",".join(csv_field(c) for c in cols)]
    lines += [",".join(csv_field(export_value(r, c)) for c in cols) for r in page]
    return {"filename": export_filename(q, now) + ".csv", "rows": len(page), "csv": "\n".join(lines) + "\n"}


def ep_has_logs(rows, _params, _now):
    return {"hasLogs": len(rows) > 0}


ENDPOINTS = {
    "count": ep_count,
    "count-ranges": ep_count_ranges,
    "query": ep_query,
    "values": ep_values,
    "attributes": ep_attributes,
    "has-logs": ep_has_logs,
    "export": ep_export,
    "sparkline": ep_sparkline,
    "services": ep_services,
}

# ---------------------------------------------------------------------------------------------------------------
# The cases.
# ---------------------------------------------------------------------------------------------------------------

NOW = "2026-11-02T00:00:00Z"  # the day after the data: "-24h" / "-1d" cover all of it
DAY_RANGE = {"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-02T00:00:00Z"}
CASES: list[dict] = []
# Instants used as range bounds that must be the timestamp of some row (checked in main).
ROW_BOUNDARIES: list[str] = []


def case(name, endpoint, now=NOW, body=None, params=None):
    c = {"name": name, "endpoint": endpoint, "now": now}
    if body is not None:
        c["body"] = body
    if params is not None:
        c["params"] = params
    CASES.append(c)


def q(**fields):
    return {"query": fields}


def leaf(key, typ, op, value=None):
    f = {"key": key, "type": typ, "operator": op}
    if value is not None:
        f["value"] = value
    return f


def grp(typ, *values):
    return {"type": typ, "values": list(values)}


def one(*filters):
    """The UI's shape: one AND group holding one AND group of filters."""
    return grp("AND", grp("AND", *filters))


def day_count(name, *filters, **extra):
    case(name, "count", body=q(dateRange={"date_from": "-24h"}, filterGroup=one(*filters), **extra))


def js(v):
    return json.dumps(v, separators=(",", ":"))


# --- has-logs -----------------------------------------------------------------------------------------------
case("has-logs-true", "has-logs", params=[])

# --- count: date ranges -------------------------------------------------------------------------------------
case("count-relative-24h-whole-day", "count", body=q(dateRange={"date_from": "-24h"}))
case("count-relative-1d-from-mid-day", "count", now="2026-11-01T12:00:00Z", body=q(dateRange={"date_from": "-1d"}))
case("count-default-range-is-last-hour", "count", now="2026-11-01T12:00:00Z", body=q())
case("count-relative-30-minutes", "count", now="2026-11-01T06:15:00Z", body=q(dateRange={"date_from": "-30M"}))
case("count-relative-hours-both-bounds", "count", now="2026-11-01T20:00:00Z",
     body=q(dateRange={"date_from": "-5h", "date_to": "-2h"}))
ROW_BOUNDARIES.extend(["2026-11-01T00:00:00Z", "2026-11-01T00:00:43.200Z"])
case("count-absolute-half-open-row-bounds", "count",
     # From apache's first row (included) to apache's second row (excluded): one row per service.
     body=q(dateRange={"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-01T00:00:43.200Z"}))
case("count-absolute-end-one-ms-later", "count",
     body=q(dateRange={"date_from": "2026-11-01T00:00:00Z", "date_to": "2026-11-01T00:00:43.201Z"}))
case("count-range-ending-mid-minute", "count",
     body=q(dateRange={"date_from": "2026-11-01T10:00:00Z", "date_to": "2026-11-01T10:30:30Z"}))
case("count-absolute-with-offset", "count",
     body=q(dateRange={"date_from": "2026-11-01T12:00:00+02:00", "date_to": "2026-11-01T11:00:00.5Z"}))

# --- count: top-level filters -------------------------------------------------------------------------------
case("count-severity-levels-error-fatal", "count",
     body=q(dateRange={"date_from": "-24h"}, severityLevels=["error", "fatal"]))
case("count-service-names-and-severity", "count",
     body=q(dateRange=DAY_RANGE, serviceNames=["hdfs", "hadoop"], severityLevels=["warn"]))
case("count-search-term-case-insensitive", "count",
     body=q(dateRange={"date_from": "-24h"}, searchTerm="FAILED PASSWORD"))
case("count-search-term-with-service", "count",
     body=q(dateRange={"date_from": "-24h"}, searchTerm="Exception", serviceNames=["zookeeper", "hdfs"]))

# --- count: log fields --------------------------------------------------------------------------------------
day_count("count-message-icontains", leaf("message", "log", "icontains", "RECEIVED"))
day_count("count-message-not-icontains-list",
          leaf("message", "log", "not_icontains", ["error", "exception"]),
          leaf("service_name", "log", "exact", ["bgl", "zookeeper"]))
day_count("count-message-exact", leaf("message", "log", "exact", "workerEnv.init() ok /etc/httpd/conf/workers2.properties"))
day_count("count-message-regex", leaf("message", "log", "regex", r"^Failed password for (invalid user )?root "))
day_count("count-message-regex-is-case-sensitive", leaf("message", "log", "regex", "exception"))
day_count("count-message-regex-inline-case-insensitive", leaf("message", "log", "regex", "(?i)exception"))
day_count("count-message-not-regex", leaf("message", "log", "not_regex", r"^PacketResponder \d+ for block blk_-?\d+"),
          leaf("service_name", "log", "exact", "hdfs"))
day_count("count-message-starts-with-case-insensitive", leaf("message", "log", "starts_with", "PACKETRESPONDER"))
day_count("count-message-not-starts-with", leaf("message", "log", "not_starts_with", "jk2_init()"),
          leaf("service_name", "log", "exact", "apache"))
day_count("count-message-ends-with", leaf("message", "log", "ends_with", "[PREAUTH]"))
day_count("count-message-not-ends-with", leaf("message", "log", "not_ends_with", "terminating"),
          leaf("service_name", "log", "exact", "hdfs"))
day_count("count-severity-level-exact-list", leaf("severity_level", "log", "exact", ["warn", "fatal"]))
day_count("count-severity-level-is-not", leaf("severity_level", "log", "is_not", "info"))
day_count("count-service-name-in", leaf("service_name", "log", "in", ["apache", "linux", "nosuch"]))
day_count("count-service-name-not-in", leaf("service_name", "log", "not_in", ["apache", "linux"]))
day_count("count-service-name-exact-is-case-sensitive", leaf("service_name", "log", "exact", "Apache"))
day_count("count-service-name-string-gt", leaf("service_name", "log", "gt", "linux"))
day_count("count-trace-id-exact-lowercase-hex", leaf("trace_id", "log", "exact", "d43e2547dac666a3b5e81ea55af28a9c"))
day_count("count-trace-id-icontains", leaf("trace_id", "log", "icontains", "ffb2a"))

# --- count: log attributes ----------------------------------------------------------------------------------
day_count("count-attr-exact-string", leaf("eventid", "log_attribute", "exact", "E1"),
          leaf("service_name", "log", "exact", "apache"))
day_count("count-attr-exact-numeric-list", leaf("pid", "log_attribute", "exact", [19, "28"]))
day_count("count-attr-exact-numeric-equal-forms", leaf("copy", "log_attribute", "exact", "0.0"))
day_count("count-attr-is-not-keeps-absent-keys", leaf("pid", "log_attribute", "is_not", "19"))
day_count("count-attr-icontains", leaf("component", "log_attribute", "icontains", "datanode"))
day_count("count-attr-not-icontains-absent-passes", leaf("component", "log_attribute", "not_icontains", "a"))
day_count("count-attr-regex", leaf("node", "log_attribute", "regex", r"^R\d{2}-M[01]-N[0-9A-F]-C:J1[0-9]-U\d\d$"))
day_count("count-attr-not-regex", leaf("eventid", "log_attribute", "not_regex", r"^E\d$"))
day_count("count-attr-gt-numeric", leaf("pid", "log_attribute", "gt", 24500))
day_count("count-attr-gte-numeric", leaf("pid", "log_attribute", "gte", "24833"))
day_count("count-attr-lt-numeric", leaf("pid", "log_attribute", "lt", 15))
day_count("count-attr-lte-numeric-decimal", leaf("pid", "log_attribute", "lte", 19.5))
day_count("count-attr-gt-string", leaf("eventid", "log_attribute", "gt", "E5"))
day_count("count-attr-lte-string", leaf("component", "log_attribute", "lte", "KERNEL"))
day_count("count-attr-between", leaf("pid", "log_attribute", "between", [100, 1000]))
day_count("count-attr-not-between", leaf("pid", "log_attribute", "not_between", [20, 30000]))
day_count("count-attr-not-between-non-numeric-passes", leaf("component", "log_attribute", "not_between", [0, 10]))
day_count("count-attr-in", leaf("eventid", "log_attribute", "in", ["E3", "E24", "E67"]))
day_count("count-attr-not-in", leaf("eventid", "log_attribute", "not_in", ["E3", "E24", "E67"]))
day_count("count-attr-is-set-partial-key", leaf("pid", "log_attribute", "is_set"))
day_count("count-attr-is-not-set-partial-key", leaf("node", "log_attribute", "is_not_set"))
day_count("count-attr-is-set-absent-key", leaf("no.such.key", "log_attribute", "is_set"))
day_count("count-attr-is-not-set-absent-key", leaf("no.such.key", "log_attribute", "is_not_set"))
day_count("count-attr-starts-with", leaf("component", "log_attribute", "starts_with", "ORG.APACHE.HADOOP.MAPRED"))
day_count("count-attr-not-starts-with", leaf("eventid", "log_attribute", "not_starts_with", "e1"))
day_count("count-attr-ends-with", leaf("component", "log_attribute", "ends_with", "worker"))
day_count("count-attr-not-ends-with", leaf("node", "log_attribute", "not_ends_with", "worker"))
day_count("count-attr-empty-list-is-noop", leaf("eventid", "log_attribute", "in", []),
          leaf("service_name", "log", "exact", "spark"))
# No value of this sample parses as a date, so the is_date_* operators never hold (they are positive operators).
day_count("count-attr-is-date-before-never-holds", leaf("eventid", "log_attribute", "is_date_before", "2030-01-01"))
case("count-is-date-exact-in-or-group", "count",
     body=q(dateRange={"date_from": "-24h"},
            filterGroup=grp("OR", leaf("message", "log", "is_date_exact", "2026-11-01T00:00:00Z"),
                            leaf("severity_level", "log", "exact", "fatal"))))
day_count("count-is-date-after-in-and-group", leaf("node", "log_attribute", "is_date_after", "2000-01-01T00:00:00Z"),
          leaf("service_name", "log", "exact", "bgl"))

# --- count: edge cases of values and types -------------------------------------------------------------------
day_count("count-message-icontains-percent-is-literal", leaf("message", "log", "icontains", "%"))
day_count("count-message-icontains-underscore-is-literal", leaf("message", "log", "icontains", "_"))
day_count("count-message-icontains-list-is-or", leaf("message", "log", "icontains", ["PREAUTH", "scoreboard"]))
day_count("count-message-regex-list-is-or", leaf("message", "log", "regex", [r"^Invalid user", r"^Received disconnect"]))
day_count("count-message-not-regex-list-is-and", leaf("message", "log", "not_regex", [r"^Invalid user", r"preauth"]),
          leaf("service_name", "log", "exact", "openssh"))
day_count("count-message-exact-list", leaf("message", "log", "exact", ["Send worker leaving thread", "Interrupting SendWorker"]))
day_count("count-severity-level-in", leaf("severity_level", "log", "in", ["error"]),
          leaf("service_name", "log", "not_in", ["apache"]))
day_count("count-attr-number-on-text-values-never-matches", leaf("eventid", "log_attribute", "exact", 1))
day_count("count-attr-is-not-number-on-text-values-passes", leaf("eventid", "log_attribute", "is_not", 1))
day_count("count-attr-in-numeric-strings", leaf("pid", "log_attribute", "in", ["19", "028"]))
day_count("count-attr-exact-mixed-list-is-text", leaf("pid", "log_attribute", "exact", ["19", "028", "x"]))
day_count("count-attr-gt-exponent", leaf("pid", "log_attribute", "gt", "2.45e4"))
day_count("count-attr-between-strings", leaf("pid", "log_attribute", "between", ["100", "1000"]))
day_count("count-attr-min-max-aliases", leaf("pid", "log_attribute", "min", 100), leaf("pid", "log_attribute", "max", 1000))
day_count("count-trace-id-exact-base64",
          leaf("trace_id", "log", "exact", base64.b64encode(bytes.fromhex("d43e2547dac666a3b5e81ea55af28a9c")).decode()))
day_count("count-span-id-exact-and-icontains", leaf("span_id", "log", "exact", "0be977573955e4de"),
          leaf("span_id", "log", "icontains", "0BE97"))
day_count("count-span-id-is-not", leaf("span_id", "log", "is_not", "0be977573955e4de"))

# --- count: resource attributes -----------------------------------------------------------------------------
day_count("count-resource-exact", leaf("host.name", "log_resource_attribute", "exact", "apache-3"))
day_count("count-resource-is-not", leaf("host.name", "log_resource_attribute", "is_not", "linux-0"),
          leaf("service_name", "log", "exact", "linux"))
day_count("count-resource-icontains", leaf("host.name", "log_resource_attribute", "icontains", "-6"))
day_count("count-resource-regex", leaf("host.name", "log_resource_attribute", "regex", "^(hdfs|linux)-[0-2]$"))
day_count("count-resource-ends-with-case-insensitive", leaf("service.name", "log_resource_attribute", "ends_with", "SSH"))
day_count("count-resource-not-in", leaf("service.name", "log_resource_attribute", "not_in", ["bgl", "spark", "hdfs"]))
day_count("count-resource-is-set-absent-key", leaf("k8s.namespace.name", "log_resource_attribute", "is_set"))
day_count("count-resource-is-not-set-absent-key", leaf("k8s.namespace.name", "log_resource_attribute", "is_not_set"),
          leaf("severity_level", "log", "exact", "error"))
day_count("count-resource-is-not-absent-key-passes", leaf("k8s.namespace.name", "log_resource_attribute", "is_not", "x"))

# --- count: groups ------------------------------------------------------------------------------------------
case("count-nested-or-of-ands-depth-3", "count", body=q(
    dateRange={"date_from": "-24h"},
    filterGroup=grp(
        "OR",
        grp("AND", leaf("service_name", "log", "exact", "apache"), leaf("eventid", "log_attribute", "exact", "E3")),
        grp("AND", leaf("service_name", "log", "exact", "hdfs"),
            grp("OR", leaf("severity_level", "log", "exact", "warn"), leaf("pid", "log_attribute", "exact", 19))),
    ),
))
case("count-nested-and-of-ors", "count", body=q(
    dateRange={"date_from": "-24h"},
    filterGroup=grp(
        "AND",
        grp("OR", leaf("host.name", "log_resource_attribute", "ends_with", "-1"),
            leaf("host.name", "log_resource_attribute", "ends_with", "-2")),
        grp("OR", leaf("severity_level", "log", "exact", "error"), leaf("message", "log", "icontains", "session")),
    ),
))
case("count-flat-list-filter-group", "count", body=q(
    dateRange={"date_from": "-24h"},
    filterGroup=[leaf("service_name", "log", "exact", "openssh"), leaf("message", "log", "icontains", "invalid user"),
                 leaf("pid", "log_attribute", "gte", 24400)],
))
case("count-empty-or-group-filters-nothing", "count", body=q(
    dateRange={"date_from": "-24h"}, serviceNames=["spark"], filterGroup=grp("OR")))
case("count-everything-combined", "count", body=q(
    dateRange={"date_from": "2026-11-01T06:00:00Z", "date_to": "2026-11-01T18:30:15Z"},
    serviceNames=["openssh", "linux", "zookeeper"], severityLevels=["info", "warn"], searchTerm="CONNECTION",
    filterGroup=grp("AND", grp("OR", leaf("component", "log_attribute", "not_icontains", "cnxn"),
                               leaf("host.name", "log_resource_attribute", "exact", "zookeeper-4"))),
))

# --- count-ranges -------------------------------------------------------------------------------------------
case("count-ranges-whole-day-24-buckets", "count-ranges",
     body=q(dateRange={"date_from": "-24h"}, targetBuckets=24))
case("count-ranges-default-last-hour-10-buckets", "count-ranges", now="2026-11-01T15:00:00Z", body=q())
case("count-ranges-mid-minute-end-60-seconds", "count-ranges",
     body=q(dateRange={"date_from": "2026-11-01T10:00:00Z", "date_to": "2026-11-01T10:30:30Z"}, targetBuckets=50))
case("count-ranges-two-minutes-100-buckets", "count-ranges",
     body=q(dateRange={"date_from": "2026-11-01T08:00:00Z", "date_to": "2026-11-01T08:02:00Z"}, targetBuckets=100,
            serviceNames=["apache", "bgl", "hdfs"]))
case("count-ranges-filtered-7-buckets", "count-ranges",
     body=q(dateRange={"date_from": "-24h"}, targetBuckets=7, severityLevels=["error", "fatal"],
            serviceNames=["bgl", "hadoop"]))
case("count-ranges-one-bucket", "count-ranges", body=q(dateRange={"date_from": "-1d"}, targetBuckets=1))
case("count-ranges-off-grid-start", "count-ranges",
     body=q(dateRange={"date_from": "2026-11-01T10:07:00Z", "date_to": "2026-11-01T11:07:00Z"}, targetBuckets=6,
            filterGroup=one(leaf("message", "log", "icontains", "e"))))
case("count-ranges-whole-hours-60-seconds", "count-ranges",
     body=q(dateRange={"date_from": "2026-11-01T10:00:00Z", "date_to": "2026-11-01T12:00:00Z"}, targetBuckets=100,
            severityLevels=["warn"]))
case("count-ranges-target-clamped-to-100", "count-ranges", now="2026-11-01T13:00:00Z",
     body=q(dateRange={"date_from": "-3h"}, targetBuckets=500, serviceNames=["zookeeper"]))

# --- query --------------------------------------------------------------------------------------------------
case("query-earliest-limit-5", "query", body=q(dateRange={"date_from": "-24h"}, orderBy="earliest", limit=5))
case("query-latest-limit-3", "query", body=q(dateRange={"date_from": "-24h"}, orderBy="latest", limit=3))
case("query-default-order-is-latest", "query", now="2026-11-01T12:00:00Z",
     body=q(dateRange={"date_from": "-1h"}, limit=2, serviceNames=["spark"]))
# 10:01:12.004 is linux's row: excluded as the end of a range, included as its start.
ROW_BOUNDARIES.append("2026-11-01T10:01:12.004Z")
case("query-latest-end-bound-excludes-equal-timestamp", "query",
     body=q(dateRange={"date_from": "2026-11-01T09:00:00Z", "date_to": "2026-11-01T10:01:12.004Z"},
            orderBy="latest", limit=4))
case("query-earliest-start-bound-includes-equal-timestamp", "query",
     body=q(dateRange={"date_from": "2026-11-01T10:01:12.004Z", "date_to": "2026-11-01T11:00:00Z"},
            orderBy="earliest", limit=3))
case("query-earliest-fewer-rows-than-limit", "query",
     body=q(dateRange={"date_from": "-24h"}, orderBy="earliest", limit=5, severityLevels=["fatal"],
            serviceNames=["hadoop"]))
case("query-default-limit", "query",
     body=q(dateRange={"date_from": "-24h"}, orderBy="earliest", serviceNames=["hadoop"],
            filterGroup=one(leaf("severity_level", "log", "exact", "fatal"))))
case("query-exact-limit-no-more", "query",
     body=q(dateRange={"date_from": "-24h"}, orderBy="latest", limit=2, severityLevels=["fatal"],
            serviceNames=["hadoop"]))
case("query-search-and-filters-latest", "query",
     body=q(dateRange={"date_from": "-24h"}, orderBy="latest", limit=4, searchTerm="failed PASSWORD",
            filterGroup=one(leaf("pid", "log_attribute", "lt", 24300),
                            leaf("host.name", "log_resource_attribute", "not_in", ["openssh-0", "openssh-1"]))))
case("query-trace-id", "query",
     body=q(dateRange={"date_from": "-24h"}, limit=10,
            filterGroup=[leaf("trace_id", "log", "exact", "26aac9d4dfdd0d0a8c7d701ccfa6e3e2")]))
case("query-nested-or-earliest", "query",
     body=q(dateRange={"date_from": "2026-11-01T12:00:00Z", "date_to": "2026-11-01T18:00:00Z"},
            orderBy="earliest", limit=6,
            filterGroup=grp("OR", leaf("component", "log_attribute", "exact", "HARDWARE"),
                            grp("AND", leaf("service_name", "log", "exact", "hadoop"),
                                leaf("severity_level", "log", "exact", "error")))))

# --- values -------------------------------------------------------------------------------------------------
case("values-eventid-for-one-service", "values",
     params=[["key", "eventid"], ["dateRange", js({"date_from": "-1d"})], ["serviceNames", js(["hdfs"])]])
case("values-value-search-case-insensitive", "values",
     params=[["key", "component"], ["value", "DATANODE"], ["dateRange", js({"date_from": "-24h"})]])
case("values-offset-and-limit", "values",
     params=[["key", "eventid"], ["dateRange", js(DAY_RANGE)], ["offset", "5"], ["limit", "5"]])
case("values-resource-attribute", "values",
     params=[["key", "host.name"], ["attribute_type", "resource"], ["dateRange", js({"date_from": "-24h"})],
             ["serviceNames", js(["zookeeper", "spark"])], ["limit", "4"]])
case("values-with-filter-group-and-window", "values",
     params=[["key", "pid"], ["dateRange", js({"date_from": "2026-11-01T06:00:00Z", "date_to": "2026-11-01T08:00:00Z"})],
             ["filterGroup", js(one(leaf("host.name", "log_resource_attribute", "exact", "openssh-2")))]])
case("values-unknown-key-is-empty", "values",
     params=[["key", "no.such.key"], ["dateRange", js({"date_from": "-24h"})]])
case("values-last-hour", "values", now="2026-11-01T09:00:00Z",
     params=[["key", "component"], ["dateRange", js({"date_from": "-1h"})], ["limit", "8"]])

# --- attributes ---------------------------------------------------------------------------------------------
case("attributes-all-keys", "attributes", params=[["dateRange", js({"date_from": "-24h"})]])
case("attributes-key-search", "attributes", params=[["search", "E"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-key-search-offset-limit", "attributes",
     params=[["search", "e"], ["dateRange", js(DAY_RANGE)], ["offset", "1"], ["limit", "2"]])
case("attributes-key-search-exact-name", "attributes",
     params=[["search", "node"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-resource-keys", "attributes",
     params=[["attribute_type", "resource"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-resource-token-match", "attributes",
     params=[["attribute_type", "resource"], ["search", "NAME"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-service-filter", "attributes",
     params=[["dateRange", js({"date_from": "-24h"})], ["serviceNames", js(["apache"])]])
case("attributes-value-search-kernel", "attributes",
     params=[["search", "kernel"], ["search_values", "true"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-value-search-node", "attributes",
     params=[["search", "node"], ["search_values", "TRUE"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-value-search-short-is-key-mode", "attributes",
     params=[["search", "pid"], ["search_values", "true"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-value-search-resource", "attributes",
     params=[["search", "keeper"], ["search_values", "true"], ["attribute_type", "resource"],
             ["dateRange", js({"date_from": "-24h"})]])
case("attributes-keys-allow-list", "attributes",
     params=[["keys", "pid, node,nosuch"], ["dateRange", js({"date_from": "-24h"})]])
case("attributes-value-search-offset", "attributes",
     params=[["search", "worker"], ["search_values", "true"], ["dateRange", js({"date_from": "-24h"})],
             ["offset", "1"], ["limit", "1"]])


# --- sparkline ----------------------------------------------------------------------------------------------
case("sparkline-day-by-severity", "sparkline", body=q(dateRange={"date_from": "-24h"}))
case("sparkline-default-last-hour", "sparkline", now="2026-11-01T09:30:00Z", body=q())
case("sparkline-by-service", "sparkline", body=q(dateRange=DAY_RANGE, sparklineBreakdownBy="service"))
case("sparkline-by-service-ranked-by-bytes", "sparkline",
     body=q(dateRange={"date_from": "-24h"}, sparklineBreakdownBy="service", sparklineRankBy="bytes"))
case("sparkline-errors-of-two-services", "sparkline",
     body=q(dateRange={"date_from": "-24h"}, serviceNames=["hdfs", "openssh"], severityLevels=["error", "warn"]))
case("sparkline-mid-minute-bounds", "sparkline",
     body=q(dateRange={"date_from": "2026-11-01T06:00:30.5Z", "date_to": "2026-11-01T07:59:59.25Z"}))
case("sparkline-second-buckets", "sparkline",
     body=q(dateRange={"date_from": "2026-11-01T12:00:00Z", "date_to": "2026-11-01T12:05:00Z"}))
case("sparkline-search-and-filter", "sparkline",
     body=q(dateRange={"date_from": "-24h"}, searchTerm="error",
            filterGroup=one(leaf("host.name", "log_resource_attribute", "icontains", "2"))))
case("sparkline-empty-range", "sparkline",
     body=q(dateRange={"date_from": "2026-10-01T00:00:00Z", "date_to": "2026-10-01T01:00:00Z"}))

# --- services -----------------------------------------------------------------------------------------------
case("services-day", "services", body=q(dateRange={"date_from": "-24h"}))
case("services-errors-only", "services", body=q(dateRange=DAY_RANGE, severityLevels=["error", "fatal"]))
case("services-name-search", "services", body=q(dateRange={"date_from": "-24h"}, serviceNameSearch="OP"))
case("services-mid-minute-window", "services",
     body=q(dateRange={"date_from": "2026-11-01T03:17:10Z", "date_to": "2026-11-01T05:42:50.75Z"}))
case("services-with-body-search", "services", body=q(dateRange={"date_from": "-24h"}, searchTerm="connection"))
case("services-empty", "services",
     body=q(dateRange={"date_from": "-24h"}, serviceNames=["no-such-service"]))

# --- export (CSV; columns that do not depend on ingest-assigned ids) --------------------------------------------
EXPORT_COLUMNS = ["timestamp", "level", "service_name", "body", "trace_id", "attributes.eventid",
                  "resource_attributes.host.name"]
case("export-one-service-csv", "export",
     body={**q(dateRange={"date_from": "2026-11-01T06:00:00Z", "date_to": "2026-11-01T06:30:00Z"},
               serviceNames=["openssh"], orderBy="earliest", limit=40), "columns": EXPORT_COLUMNS})
case("export-errors-latest-relative-range", "export",
     body={**q(dateRange={"date_from": "-24h"}, severityLevels=["error"], serviceNames=["hdfs", "apache"], limit=25),
           "columns": EXPORT_COLUMNS})
case("export-search-quoting", "export",
     body={**q(dateRange={"date_from": "2026-11-01T00:00:00Z"}, searchTerm=",", limit=15), "columns": EXPORT_COLUMNS})
case("export-filter-no-rows", "export",
     body={**q(dateRange=DAY_RANGE, filterGroup=one(leaf("eventid", "log_attribute", "exact", "no-such-event"))),
           "columns": ["timestamp", "body"]})
case("export-service-name-sanitised", "export",
     body={**q(dateRange={"date_from": "-24h"}, serviceNames=["open ssh/2"]), "columns": ["timestamp"]})

# ---------------------------------------------------------------------------------------------------------------


def main() -> int:
    rows = load_rows()
    stamps = {r.ts for r in rows}
    for b in ROW_BOUNDARIES:
        assert parse_iso(b) in stamps, f"no row at {b}"
    names = set()
    for c in CASES:
        assert c["name"] not in names, c["name"]
        names.add(c["name"])
        now = parse_iso(c["now"])
        req = c.get("body") if "body" in c else c.get("params")
        c["expected"] = ENDPOINTS[c["endpoint"]](rows, req, now)
    wanted = {c["name"] + ".json" for c in CASES}
    for f in os.listdir(HERE):
        if f.endswith(".json") and f not in wanted:
            os.remove(os.path.join(HERE, f))
    for c in CASES:
        with open(os.path.join(HERE, c["name"] + ".json"), "w", encoding="utf-8", newline="\n") as f:
            f.write(json.dumps(c, indent=2, sort_keys=True) + "\n")
    print(f"wrote {len(CASES)} cases to {HERE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

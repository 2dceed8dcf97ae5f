#!/usr/bin/env python3
"""End to end: the official OpenTelemetry Python SDK exports logs to `quarry serve` over OTLP/HTTP, and the logs
API gives them back exactly.

Usage: otel_sdk_roundtrip.py QUARRY_BINARY DATA_DIR

Starts `quarry serve` on a free loopback port with a token for team 7, sends 30 records through the SDK's
LoggingHandler (service.name "checkout", three severities, attributes, gzip on the wire), then reads them back
through `count`, `query`, `services` and `sparkline` and asserts the exact content; finally stops the server with
SIGTERM and checks that it exits cleanly. Every assertion prints what it got.
"""

from __future__ import annotations

import json
import logging
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
from opentelemetry.sdk.resources import Resource

TOKEN = "phc_e2e_token_for_team_7"


def start(binary: str, data: str) -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen(
        [binary, "--data", data, "serve", "--listen", "127.0.0.1:0", "--token", f"{TOKEN}=7"],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
    )
    line = proc.stdout.readline().strip()
    if not line.startswith("listening on "):
        proc.kill()
        sys.exit(f"quarry serve did not start: {line!r}")
    return proc, line.removeprefix("listening on ")


def call(base: str, path: str, body: dict | None = None) -> dict | list:
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        base + path,
        data=data,
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())
    except urllib.error.HTTPError as e:
        sys.exit(f"{path}: HTTP {e.code}: {e.read().decode()}")


def raw(base: str, method: str, path: str, body: bytes | None, headers: dict) -> tuple[int, dict]:
    """One request exactly as given; returns (status, JSON body)."""
    req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def seed_examples(base: str) -> None:
    """The example requests of the API reference pages (../shared/seeds/), sent as their curl lines send them:
    `-H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" URL/ -d query=undefined` for the POST
    routes (a form body the pages never filled in), a bare GET for the others."""
    auth = {"Authorization": f"Bearer {TOKEN}"}
    form = {**auth, "Content-Type": "application/json"}
    for scope in ("projects", "environments"):
        for action in ("services", "sparkline", "count", "count-ranges", "query"):
            status, body = raw(base, "POST", f"/api/{scope}/7/logs/{action}/", b"query=undefined", form)
            check(f"seed POST {scope} {action} -d query=undefined", status, 400)
            check(f"seed POST {scope} {action} error names the body", body["error"].startswith("body: expected a JSON object"), True)
    status, body = raw(base, "POST", "/api/projects/7/logs/export/", None, form)
    check("seed POST export without a body", (status, body), (400, {"error": "query: No query provided"}))
    status, body = raw(base, "GET", "/api/projects/7/logs/values/", None, auth)
    check("seed GET values without a key", status, 400)
    check("seed GET values error names the key", body["error"].startswith("key"), True)
    status, body = raw(base, "GET", "/api/environments/7/logs/values/?key=order_id&limit=2", None, auth)
    check("seed GET values with a key", (status, len(body["results"])), (200, 2))
    status, body = raw(base, "GET", "/api/projects/7/logs/attributes/", None, auth)
    check("seed GET attributes", status, 200)
    check("seed GET attributes finds order_id", "order_id" in [r["name"] for r in body["results"]], True)
    status, body = raw(base, "GET", "/api/projects/7/logs/has_logs/", None, auth)
    check("seed GET has_logs", (status, body), (200, {"hasLogs": True}))
    status, body = raw(base, "GET", "/api/projects/7/logs/has_logs/", None, {})
    check("seed GET has_logs without the key", status, 401)
    status, body = raw(base, "GET", "/api/projects/8/logs/has_logs/", None, auth)
    check("seed GET has_logs of another project", status, 403)


def check(what: str, got, want) -> None:
    if got != want:
        sys.exit(f"FAIL {what}:\n  got  {got!r}\n  want {want!r}")
    print(f"ok   {what}")


def main() -> int:
    binary, data = sys.argv[1], sys.argv[2]
    proc, base = start(binary, data)
    try:
        provider = LoggerProvider(resource=Resource.create({"service.name": "checkout", "deployment.environment": "e2e"}))
        exporter = OTLPLogExporter(
            endpoint=f"{base}/v1/logs",
            headers={"Authorization": f"Bearer {TOKEN}"},
            compression=Compression.Gzip,
        )
        provider.add_log_record_processor(BatchLogRecordProcessor(exporter))
        logger = logging.getLogger("quarry.e2e")
        logger.propagate = False
        logger.setLevel(logging.DEBUG)
        logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
        levels = [(logging.INFO, "info"), (logging.WARNING, "warn"), (logging.ERROR, "error")]
        for i in range(30):
            level, _ = levels[i % 3]
            logger.log(level, "order %d processed", i, extra={"order_id": f"o-{i:03d}", "attempt": i % 2})
        if not provider.force_flush(timeout_millis=30_000):
            sys.exit("the SDK did not flush within 30 s")
        provider.shutdown()

        day = {"dateRange": {"date_from": "-1h"}}
        check("count", call(base, "/api/projects/7/logs/count/", {"query": day}), {"count": 30})
        check(
            "count of errors",
            call(base, "/api/projects/7/logs/count/", {"query": {**day, "severityLevels": ["error"]}}),
            {"count": 10},
        )
        page = call(base, "/api/projects/7/logs/query/", {"query": {**day, "limit": 100, "orderBy": "earliest"}})
        rows = page["results"]
        check("query rows", len(rows), 30)
        check("hasMore", page["hasMore"], False)
        check("bodies in order", [r["body"] for r in rows], [f"order {i} processed" for i in range(30)])
        check("severities", [r["severity_text"] for r in rows], [levels[i % 3][1] for i in range(30)])
        check("order_id attributes", [r["attributes"]["order_id"] for r in rows], [f"o-{i:03d}" for i in range(30)])
        check("attempt attributes", [r["attributes"]["attempt"] for r in rows], [str(i % 2) for i in range(30)])
        check("resource", {r["resource_attributes"]["service.name"] for r in rows}, {"checkout"})
        check("environment", {r["resource_attributes"]["deployment.environment"] for r in rows}, {"e2e"})
        check(
            "filter on an attribute",
            call(
                base,
                "/api/projects/7/logs/count/",
                {"query": {**day, "filterGroup": {"type": "AND", "values": [
                    {"key": "attempt", "type": "log_attribute", "operator": "exact", "value": "1"}]}}},
            ),
            {"count": 15},
        )
        services = call(base, "/api/projects/7/logs/services/", {"query": day})
        check(
            "services",
            [(s["service_name"], s["log_count"], s["error_count"], s["error_rate"], s["severity_breakdown"],
              s["volume_share_pct"]) for s in services["services"]],
            [("checkout", 30, 10, 0.3333, {"debug": 0, "info": 10, "warn": 10, "error": 10}, 100.0)],
        )
        check("services total", services["total_services"], 1)
        spark = call(base, "/api/projects/7/logs/sparkline/", {"query": day})
        counted = {}
        for p in spark:
            if p["count"]:
                counted[p["severity"]] = counted.get(p["severity"], 0) + p["count"]
        check("sparkline per severity", counted, {"info": 10, "warn": 10, "error": 10})
        check("sparkline spine", len({p["time"] for p in spark}) >= 50, True)
        seed_examples(base)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            sys.exit("quarry serve did not stop within 60 s of SIGTERM")
    check("clean exit on SIGTERM", code, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

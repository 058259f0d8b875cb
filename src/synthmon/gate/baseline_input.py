"""Reading the baseline.json that `synthmon baseline` writes, tolerant of its exact layout:
the gate needs only P95 (and the count) per endpoint, and any rates it recorded."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from synthmon.gate.model import Baseline, BaselineEndpoint


class BaselineError(ValueError):
    pass


def _p95(entry: dict[str, Any]) -> float | None:
    for key in ("p95_ms", "p95"):
        if isinstance(entry.get(key), int | float):
            return float(entry[key])
    latency = entry.get("latency_ms") or entry.get("percentiles") or {}
    if isinstance(latency, dict):
        for key in ("p95", "p95_ms", "0.95"):
            if isinstance(latency.get(key), int | float):
                return float(latency[key])
    return None


def load_baseline(path: str | Path) -> Baseline:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc})") from exc
    raw = data.get("endpoints", {})
    items = raw.items() if isinstance(raw, dict) else (
        (e.get("endpoint") or f"{e.get('method', 'GET')} {e.get('route')}", e) for e in raw)
    endpoints = {}
    for name, entry in items:
        p95 = _p95(entry) if isinstance(entry, dict) else None
        if p95 is not None:
            count = entry.get("count", entry.get("samples", entry.get("n", 0)))
            endpoints[name] = BaselineEndpoint(p95_ms=p95, count=int(count or 0))
    if not endpoints:
        raise BaselineError(f"{path}: no endpoint with a P95 in it (expected endpoints -> "
                            "{'METHOD /route': {'p95_ms': ...}})")
    rates = {}
    for metric, entry in (data.get("rates") or {}).items():
        if isinstance(entry, dict) and {"events", "n"} <= entry.keys():
            rates[metric] = (int(entry["events"]), int(entry["n"]))
    build = data.get("build", {})
    build_id = build.get("build_id", "") if isinstance(build, dict) else str(build)
    return Baseline(path=str(path), endpoints=endpoints, rates=rates, build_id=build_id)

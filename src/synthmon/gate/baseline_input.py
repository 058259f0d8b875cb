"""Reading the baseline.json that `synthmon baseline` writes (synthmon.baseline.report): the
gate needs only P95 (and the count) per endpoint, and the rates it recorded."""

from __future__ import annotations

import json
from pathlib import Path

from synthmon.gate.model import Baseline, BaselineEndpoint

# The document's `kind`, as synthmon.baseline.report writes it (not imported from there:
# that would load numpy and matplotlib into every gate run).
KIND = "synthmon-baseline"


class BaselineError(ValueError):
    pass


def load_baseline(path: str | Path) -> Baseline:
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BaselineError(f"{path}: cannot read the baseline ({exc})") from exc
    if not isinstance(data, dict) or data.get("kind") != KIND:
        raise BaselineError(f"{path}: not a baseline written by `synthmon baseline` "
                            f"(no \"kind\": \"{KIND}\")")
    try:
        endpoints = {name: BaselineEndpoint(p95_ms=float(entry["p95_ms"]),
                                            count=int(entry["count"]))
                     for name, entry in data["endpoints"].items()
                     if entry["p95_ms"] is not None}
        rates = {metric: (int(entry["events"]), int(entry["n"]))
                 for metric, entry in data["rates"].items()}
        build_id = str(data["build_id"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise BaselineError(f"{path}: a baseline without its {exc} field; write it again "
                            "with `synthmon baseline`") from exc
    if not endpoints:
        raise BaselineError(f"{path}: no endpoint with a P95 in it (every endpoint of the "
                            "baseline has 0 answers)")
    return Baseline(path=str(path), endpoints=endpoints, rates=rates, build_id=build_id)

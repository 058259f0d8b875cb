"""Schema drift as the gate sees it: its own signal, reported beside the criteria and never
a rollback (nor a hold) by itself. Members the schemas do not name are how a backward-
compatible change looks from outside; the ship-room wants to know that the canary answers
with new members (and which), not to be stopped by them. A secret-looking member is a
schema failure, and that criterion does roll back."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from synthmon.samples import Sample


def cohort_drift(samples: Iterable[Sample]) -> dict[str, Any]:
    checked = drifted = 0
    paths: dict[str, set[str]] = defaultdict(set)
    for sample in samples:
        if sample.schema_ok is None:
            continue
        checked += 1
        if sample.schema_drift:
            drifted += 1
            paths[sample.endpoint].update(sample.schema_drift)
    return {"checked": checked, "drifted": drifted,
            "endpoints": {endpoint: sorted(found) for endpoint, found in sorted(paths.items())}}


def drift_signal(canary: list[Sample], control: list[Sample]) -> dict[str, Any]:
    ours, theirs = cohort_drift(canary), cohort_drift(control)
    new = {endpoint: [p for p in found if p not in theirs["endpoints"].get(endpoint, ())]
           for endpoint, found in ours["endpoints"].items()}
    return {"rolls_back": False, "canary": ours, "control": theirs,
            "new_in_canary": {e: found for e, found in new.items() if found}}


def drift_note(signal: dict[str, Any]) -> str | None:
    """One sentence for the report, or None when the canary shows no new member."""
    new = signal["new_in_canary"]
    if not new:
        return None
    canary = signal["canary"]
    where = "; ".join(f"{endpoint}: {', '.join(paths[:5])}" for endpoint, paths in new.items())
    return (f"schema drift (reported, never a rollback by itself): the canary answers with "
            f"members no schema names and the control does not send, in {canary['drifted']} "
            f"of {canary['checked']} checked responses: {where}")

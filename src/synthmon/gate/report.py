"""decision.json (for machines) and decision.md (for the ship-room): verdict first, then
one row per criterion, then the evidence."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from synthmon.gate.model import CriterionResult, Decision

_ICON = {"go": "✅ go", "rollback": "⛔ ROLLBACK", "hold": "⏸ hold", "not_applicable": "– n/a"}


def decision_data(decision: Decision) -> dict[str, Any]:
    """decision.json's content: the decision with non-finite numbers as strings."""
    data: dict[str, Any] = _finite(decision.to_dict())
    return data


def write_decision(decision: Decision, out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out_dir / "decision.json", out_dir / "decision.md"
    _atomic_write(json_path, json.dumps(decision_data(decision), indent=2, sort_keys=False))
    _atomic_write(md_path, render_markdown(decision))
    return json_path, md_path


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text + "\n", encoding="utf-8")
    tmp.replace(path)


def _finite(value: Any) -> Any:
    """JSON has no Infinity/NaN: write them as strings a reader cannot mistake for numbers."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if not math.isfinite(value):
        return str(value)
    if unit == "ms":
        return f"{value:.1f} ms"
    if unit == "ratio":
        return f"{value:.3%}" if value < 1 else f"{value:.3g}"
    return f"{value:.3g}"


def value_unit(r: CriterionResult) -> str:
    # Latency ratio criteria show milliseconds, burn shows a multiple.
    if r.id.startswith("latency") or r.unit == "ms":
        return "ms"
    if r.unit == "budget_fraction":
        return "x"
    return r.unit


def _bound(r: CriterionResult) -> str:
    b = r.bound
    if not b:
        return "—"
    if "p95_ratio" in b:
        return f"ratio {b['p95_ratio']:.2f}x, MWU p={b['mann_whitney_p']:.2g}"
    if "note" in b:
        return "n/a (minimum sample)"
    unit = "ms" if r.unit == "ms" else ("x" if r.unit == "budget_fraction" else r.unit)
    lo, hi = b.get("lower"), b.get("upper")
    conf = b.get("confidence", 0)
    return f"[{fmt_value(lo, unit)}, {fmt_value(hi, unit)}] @{conf:.2%}"


def _samples(r: CriterionResult) -> str:
    counts = {k: v for k, v in r.samples.items() if not k.endswith("_runs")}
    text = " / ".join(f"{k} {v}" for k, v in counts.items()) or "—"
    text += f" (min {r.min_samples})"
    if "canary_runs" in r.samples:  # the run-level test's unit: independent suite runs
        text += (f"; runs {r.samples['canary_runs']} / {r.samples.get('control_runs', 0)}"
                 + (f" (min {r.min_runs})" if r.min_runs else ""))
    return text


def render_markdown(d: Decision) -> str:
    lines = [f"# Gate decision, phase {d.phase}: {d.verdict.upper()} (exit {d.exit_code})", ""]
    lines += [d.summary, ""]
    if d.verdict == "error":
        lines.append("Nothing was judged: this is not a hold, and no earlier verdict stands. "
                     "Fix the cause and run the gate again.")
        return "\n".join(lines)
    for note in d.notes:
        lines.append(f"> {note}")
    if d.notes:
        lines.append("")
    if d.verdict == "go" and d.approvals:
        missing = d.approvals.get("missing", [])
        lines.append("**Approvals still missing before the next phase:** "
                     + (", ".join(missing) if missing else "none: every role has said go"))
        lines.append("")
    i = d.inputs
    lines += [
        f"Window {i.get('window_s', 0):g} s (gathered in {i.get('elapsed_s', 0):g} s), scope "
        f"`{i.get('scope') or 'every check'}`, canary traffic {i.get('traffic_share', 0):.0%}; "
        f"samples canary {i.get('canary_samples')} / control {i.get('control_samples')}; "
        f"baseline: {i.get('baseline') or 'none (vs-baseline criteria use the control)'}; "
        f"per-test confidence {i.get('per_test_confidence', 0):.4f} "
        f"(false-rollback budget {i.get('false_rollback_rate')}).",
        "",
        "| criterion | verdict | canary | reference | threshold | samples | confidence bound |",
        "|---|---|---|---|---|---|---|",
    ]
    order = {"rollback": 0, "hold": 1, "go": 2, "not_applicable": 3}
    ranked = sorted(d.criteria, key=lambda r: order[r.verdict])
    for r in ranked:
        unit = value_unit(r)
        ref = (f"{fmt_value(r.reference_value, unit)} ({r.reference})"
               if r.reference != "none" else "—")
        lines.append(
            f"| {r.title} (`{r.id}`) | {_ICON[r.verdict]} | {fmt_value(r.canary_value, unit)} "
            f"| {ref} | {r.threshold_text} | {_samples(r)} | {_bound(r)} |")
    lines += ["", "## Evidence", ""]
    for r in ranked:
        lines.append(f"### `{r.id}`: {r.verdict}")
        lines.append("")
        lines.append(r.reason)
        if r.needs:
            lines.append("")
            lines.append("Needs: " + ", ".join(f"{v:g} more {k}" for k, v in r.needs.items()))
        for key, value in r.evidence.items():
            if not value:
                continue
            if isinstance(value, list):
                lines.append("")
                lines.append(f"- {key.replace('_', ' ')}:")
                fence = key == "promql"
                for item in value:
                    lines.append(f"  - `{item}`" if fence else f"  - {item}")
            else:
                lines.append(f"- {key.replace('_', ' ')}: {value}")
        lines.append("")
    return "\n".join(lines).rstrip()

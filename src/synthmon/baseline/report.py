"""baseline.json, baseline.md and baseline.png from a set of samples.

baseline.json (version 1), read by `synthmon gate --baseline FILE`:

    {
      "version": 1, "kind": "synthmon-baseline",
      "target": URL, "target_name": str, "environment": str, "cohort": str,
      "build_id": str, "git_sha": str, "build": {"build_id": str, "git_sha": str},
      "measured_at": RFC 3339 UTC (end of measurement), "started_at": ..., "duration_s": float,
      "samples_requested": N, "confidence": 0.95,
      "method": {"percentiles": ..., "p95_ci": ..., "latency_of": ...},
      "runs": [{"run_id": str, "exit_status": int, "requests": int}],
      "stopped_because": str,
      "endpoints": {
        "METHOD /route" | "STEP name @device" | "VITAL /page @device": {
          "method", "route", "kind": "http"|"step"|"vital", "unit": "ms"|"score",
          "device": str (browser samples), "critical": bool, "budget_ms": float|null,
          "count": answers measured, "errors": calls without an answer or with a 5xx,
          "min_ms", "max_ms", "mean_ms", "p50_ms", "p95_ms", "p99_ms",
          "p95_ci_ms": {"low": float|null, "high": float|null},   # null: too few samples
          "latencies_ms": [float, ...],         # raw, for the gate's distribution test
          "phases_ms": {"dns", "connect", "tls", "ttfb", "transfer"} | null  # medians
        }
      },
      "missing": ["METHOD /route", ...],   # critical endpoints never called
      "short": {"METHOD /route": count},   # critical endpoints with fewer than N answers
      "rates": {"server_error_rate" | "unexpected_4xx_rate" | "auth_error_rate" |
                "schema_failure_rate": {"events": int, "n": int}},
      "plot": "baseline.png"
    }

Latency is measured on answers (status < 500), as the gate measures it: a failed call is
fast or times out for reasons of its own; failures are counted in `errors` and `rates`.
Browser steps and Web Vitals (P50/P95/P99 per page) are kept per device, since a throttled
phone and a desktop are different distributions; `rates` count HTTP calls only, as the gate.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from synthmon.baseline.stats import CONFIDENCE, min_samples_for_p95_ci, summarize
from synthmon.gate.criteria import has_latency, is_auth_error, is_unexpected_4xx
from synthmon.samples import Sample, phase_medians

VERSION = 1
PLOT_FILE = "baseline.png"

# The gate's names for the rates it compares 'vs baseline' (a criterion's `metric`).
RATES: dict[str, Callable[[Sample], bool]] = {
    "server_error_rate": lambda s: s.is_server_error,
    "unexpected_4xx_rate": is_unexpected_4xx,
    "auth_error_rate": is_auth_error,
    "schema_failure_rate": lambda s: s.schema_ok is False,
}


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def build_baseline(samples: Iterable[Sample], *, meta: dict[str, Any], wanted: int,
                   critical: Iterable[str], budgets: dict[str, float] | None = None
                   ) -> dict[str, Any]:
    """The baseline document; `meta` carries target, environment, cohort, build_id,
    git_sha, started_at/finished_at (unix), runs and stopped_because."""
    samples = list(samples)
    calls = [s for s in samples if s.is_http]
    critical = set(critical)
    budgets = budgets or {}
    groups: dict[str, list[Sample]] = defaultdict(list)
    for sample in samples:
        groups[_key(sample)].append(sample)
    endpoints: dict[str, Any] = {}
    for name in sorted(groups):
        group = groups[name]
        latencies = [s.total_ms for s in group if has_latency(s)]
        endpoints[name] = {
            "method": group[0].method,
            "route": group[0].route,
            "kind": group[0].kind,
            "unit": group[0].unit,
            **({} if group[0].is_http else {"device": group[0].device}),
            "critical": name in critical or any(s.critical for s in group),
            "budget_ms": budgets.get(name, group[0].budget_ms),
            **summarize(latencies),
            "errors": sum(1 for s in group if not has_latency(s)),
            "latencies_ms": [round(v, 3) for v in latencies],
            "phases_ms": phase_medians(group),
        }
    started = float(meta.get("started_at", time.time()))
    finished = float(meta.get("finished_at", time.time()))
    return {
        "version": VERSION,
        "kind": "synthmon-baseline",
        "target": meta.get("target", ""),
        "target_name": meta.get("target_name", "url"),
        "environment": meta.get("environment", "unknown"),
        "cohort": meta.get("cohort", "control"),
        "build_id": meta.get("build_id", ""),
        "git_sha": meta.get("git_sha", ""),
        "build": {"build_id": meta.get("build_id", ""), "git_sha": meta.get("git_sha", "")},
        "measured_at": _iso(finished),
        "started_at": _iso(started),
        "duration_s": round(max(0.0, finished - started), 3),
        "samples_requested": wanted,
        "confidence": CONFIDENCE,
        "method": {
            "percentiles": "linear interpolation between closest ranks (numpy default)",
            "p95_ci": "distribution-free, order statistics from Binomial(n, 0.95), two-sided; "
                      f"both ends exist from n = {min_samples_for_p95_ci()}",
            "latency_of": "answers only (status < 500), body included",
        },
        "runs": meta.get("runs", []),
        "stopped_because": meta.get("stopped_because", ""),
        "endpoints": endpoints,
        "missing": sorted(critical - set(groups)),
        "short": {e: endpoints[e]["count"] for e in sorted(critical & set(groups))
                  if endpoints[e]["count"] < wanted},
        "rates": {name: {"events": sum(1 for s in calls if is_bad(s)), "n": len(calls)}
                  for name, is_bad in RATES.items()},
        "plot": PLOT_FILE,
    }


def _key(sample: Sample) -> str:
    return sample.endpoint if sample.is_http else f"{sample.endpoint} @{sample.device}"


def _critical_first(doc: dict[str, Any], kind: str = "http") -> list[tuple[str, dict[str, Any]]]:
    chosen = [(n, e) for n, e in doc["endpoints"].items() if e.get("kind", "http") == kind]
    return sorted(chosen, key=lambda item: (not item[1]["critical"], item[0]))


def _ms(value: float | None, unit: str = "ms") -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if unit == "score" else f"{value:.1f}"


def to_markdown(doc: dict[str, Any]) -> str:
    ci_n = min_samples_for_p95_ci()
    lines = [
        f"# Performance baseline: {doc['target_name']} ({doc['environment']})",
        "",
        f"- Target: `{doc['target']}` (cohort {doc['cohort']})",
        f"- Build: `{doc['build_id'] or 'unknown'}` at git `{doc['git_sha'] or 'unknown'}`",
        f"- Measured: {doc['started_at']} to {doc['measured_at']} ({doc['duration_s']:.0f} s, "
        f"{len(doc['runs'])} suite runs, {doc['samples_requested']} samples wanted per "
        "critical endpoint)",
        f"- How it stopped: {doc['stopped_because'] or '–'}",
        "",
        "Latency is the whole request, body included, of answered calls (status < 500); "
        f"the P95 interval is a {doc['confidence']:.0%} distribution-free interval "
        f"(both ends need at least {ci_n} samples).",
        "",
        "| endpoint | critical | n | errors | min | P50 | P95 | P95 95% CI | P99 | max | mean "
        "| budget |",
        "|---|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|",
    ]
    for name, e in _critical_first(doc):
        ci = e["p95_ci_ms"]
        if ci["high"] is not None and ci["low"] is not None:
            ci_text = f"{_ms(ci['low'])} – {_ms(ci['high'])}"
        elif ci["low"] is not None:
            ci_text = f"≥ {_ms(ci['low'])} (n < {ci_n})"
        else:
            ci_text = f"– (n < {ci_n})" if e["count"] else "–"
        lines.append(
            f"| `{name}` | {'yes' if e['critical'] else 'no'} | {e['count']} | {e['errors']} "
            f"| {_ms(e['min_ms'])} | {_ms(e['p50_ms'])} | **{_ms(e['p95_ms'])}** | {ci_text} "
            f"| {_ms(e['p99_ms'])} | {_ms(e['max_ms'])} | {_ms(e['mean_ms'])} "
            f"| {_ms(e['budget_ms'])} |")
    lines += ["", "All figures in milliseconds.", ""]
    phased = [(name, e["phases_ms"]) for name, e in _critical_first(doc) if e.get("phases_ms")]
    if phased:
        lines += ["## Where the time goes (median phases, calls over a fresh connection)", "",
                  "| endpoint | dns | connect | tls | ttfb | transfer |",
                  "|---|--:|--:|--:|--:|--:|"]
        lines += [f"| `{name}` | " + " | ".join(_ms(p[k]) for k in
                                                 ("dns", "connect", "tls", "ttfb", "transfer"))
                  + " |" for name, p in phased] + [""]
    lines += _browser_tables(doc)
    if doc["missing"]:
        lines += ["## Critical endpoints never called", ""]
        lines += [f"- `{e}`" for e in doc["missing"]] + [""]
    if doc["short"]:
        lines += [f"## Critical endpoints with fewer than {doc['samples_requested']} samples", ""]
        lines += [f"- `{e}`: {n}" for e, n in doc["short"].items()] + [""]
    lines += ["## Rates", "", "| rate | events | requests |", "|---|--:|--:|"]
    for name, rate in doc["rates"].items():
        lines.append(f"| {name} | {rate['events']} | {rate['n']} |")
    lines += ["", f"![latency distributions]({doc['plot']})", ""]
    return "\n".join(lines)


def _browser_tables(doc: dict[str, Any]) -> list[str]:
    """Browser steps, and Web Vitals per page, per device: P50/P95/P99 and the budget."""
    lines: list[str] = []
    steps = _critical_first(doc, "step")
    if steps:
        lines += ["## Browser steps", "", "| step | device | n | P50 | P95 | P99 | max | budget |",
                  "|---|---|--:|--:|--:|--:|--:|--:|"]
        lines += [f"| `{e['route']}` | {e.get('device', '')} | {e['count']} | {_ms(e['p50_ms'])} "
                  f"| **{_ms(e['p95_ms'])}** | {_ms(e['p99_ms'])} | {_ms(e['max_ms'])} "
                  f"| {_ms(e['budget_ms'])} |" for _, e in steps]
        lines += ["", "Milliseconds, from the step's first action to its visible result.", ""]
    vitals = sorted(_critical_first(doc, "vital"),
                    key=lambda item: (item[1].get("device", ""), item[1]["route"],
                                      item[1]["method"]))
    if vitals:
        lines += ["## Web Vitals per page", "",
                  "| page | device | vital | n | P50 | P95 | P99 | budget |",
                  "|---|---|---|--:|--:|--:|--:|--:|"]
        lines += [f"| `{e['route']}` | {e.get('device', '')} | {e['method']} | {e['count']} "
                  f"| {_ms(e['p50_ms'], e['unit'])} | **{_ms(e['p95_ms'], e['unit'])}** "
                  f"| {_ms(e['p99_ms'], e['unit'])} | {_ms(e['budget_ms'], e['unit'])} |"
                  for _, e in vitals]
        lines += ["", "Milliseconds, but CLS: a unitless score. Budgets are Google's "
                  "\"good\" thresholds.", ""]
    return lines


def write_plot(doc: dict[str, Any], path: Path, slo_ms: float | None = None,
               limit_ms: float | None = None) -> None:
    """One box per endpoint (whiskers at P5/P95, P99 marked), SLO and limit as lines."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on CI or servers
    import matplotlib.pyplot as plt

    # matplotlib draws the first box at the bottom: reversed, critical endpoints lead.
    names = [n for n, e in reversed(_critical_first(doc)) if e["latencies_ms"]]
    fig, ax = plt.subplots(figsize=(10, max(3.0, 0.45 * len(names) + 1.5)))
    try:
        if names:
            data = [doc["endpoints"][n]["latencies_ms"] for n in names]
            boxes: dict[str, Any] = {"whis": (5, 95), "showfliers": True,
                                     "flierprops": {"markersize": 2, "alpha": 0.4}}
            try:
                ax.boxplot(data, orientation="horizontal", **boxes)  # matplotlib >= 3.10
            except TypeError:
                ax.boxplot(data, vert=False, **boxes)
            p99 = [doc["endpoints"][n]["p99_ms"] for n in names]
            ax.scatter(p99, range(1, len(names) + 1), marker="|", s=120, color="black",
                       label="P99", zorder=3)
            labels = [n + (" *" if doc["endpoints"][n]["critical"] else "") for n in names]
            ax.set_yticks(range(1, len(names) + 1), labels, fontsize=8)
            ax.set_xscale("log")
        else:
            ax.text(0.5, 0.5, "no answered calls", ha="center", transform=ax.transAxes)
        for value, style, label in ((slo_ms, "--", "SLO P95"), (limit_ms, ":", "rollback P95")):
            if value:
                ax.axvline(value, linestyle=style, color="red", label=f"{label} {value:g} ms")
        ax.set_xlabel("latency (ms, log scale); box P25-P75, whiskers P5-P95; * critical")
        ax.set_title(f"Baseline {doc['target_name']} · build {doc['build_id'] or '?'} · "
                     f"{doc['measured_at']}", fontsize=10)
        ax.legend(loc="lower right", fontsize=8)
        fig.tight_layout()
        fig.savefig(path, dpi=110)
    finally:
        plt.close(fig)


def write_reports(doc: dict[str, Any], out_dir: Path, slo_ms: float | None = None,
                  limit_ms: float | None = None) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"json": out_dir / "baseline.json", "md": out_dir / "baseline.md",
             "png": out_dir / doc["plot"]}
    write_plot(doc, paths["png"], slo_ms, limit_ms)
    paths["json"].write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    paths["md"].write_text(to_markdown(doc), encoding="utf-8")
    return paths

"""The ship-room page (`GET /`): the verdict first and large, then one row per criterion
with its numbers and a strip of value, bound, reference and threshold, the verdicts of
this phase over time, approvals recorded and missing, canary vs control latency, and what
the phase can detect. One self-contained HTML document: inline CSS (allowed by hash in the
Content-Security-Policy), inline SVG, no script, no font, nothing fetched from anywhere;
it reloads itself. Rendered once per evaluation, served as bytes."""

from __future__ import annotations

import base64
import hashlib
import time
from html import escape
from typing import TYPE_CHECKING

from synthmon.gate.model import CriterionResult, Decision
from synthmon.gate.report import fmt_value, value_unit
from synthmon.gate.serve.plots import latency_svg, strip_for, strip_svg, timeline_svg

if TYPE_CHECKING:
    from synthmon.gate.serve.state import ServeState, Snapshot

STYLE = """
:root{color-scheme:light;font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
body{margin:0;background:#f6f7f9;color:#111;line-height:1.4}
main{max-width:1200px;margin:0 auto;padding:12px}
.verdict{border-radius:10px;padding:18px 20px;color:#fff;margin-bottom:14px}
.verdict h1{margin:0;font-size:clamp(2.2rem,8vw,4.5rem);letter-spacing:.04em}
.verdict p{margin:.4em 0 0;font-size:1.05rem}
.v-go{background:#15803d}.v-rollback{background:#b91c1c}.v-hold{background:#b45309}
.v-error{background:#6b21a8}
section{background:#fff;border-radius:10px;padding:12px 14px;margin-bottom:14px;
box-shadow:0 1px 2px rgba(0,0,0,.08)}
h2{font-size:1.15rem;margin:.2em 0 .6em}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.92rem}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
th{font-weight:600;background:#f9fafb}
.badge{display:inline-block;border-radius:4px;padding:1px 7px;color:#fff;font-weight:600;
font-size:.85rem;white-space:nowrap}
.b-go{background:#15803d}.b-rollback{background:#b91c1c}.b-hold{background:#d97706}
.b-not_applicable{background:#9ca3af}.b-error{background:#6b21a8}
.b-can_decide{background:#15803d}.b-cannot_decide{background:#b91c1c}
.b-unknown{background:#9ca3af}
.muted{color:#6b7280}.reason{color:#374151;font-size:.85rem}
.plot,.timeline{width:100%;height:auto;display:block}
.strip{width:220px;max-width:100%;height:30px;display:block}
.tick{font-size:11px;fill:#4b5563}.limit{fill:#b91c1c}
.meta{display:flex;flex-wrap:wrap;gap:6px 18px;font-size:.9rem;color:#f3f4f6}
.missing{color:#b91c1c;font-weight:600}
details{margin-top:.4em;font-size:.95rem}summary{cursor:pointer}
@media (max-width:640px){th,td{padding:5px 4px;font-size:.82rem}.hide-narrow{display:none}
table.cards thead{display:none}table.cards tr{display:block;border-bottom:2px solid #e5e7eb;
padding:6px 0}table.cards td{display:flex;gap:8px;border:0;padding:2px 4px}
table.cards td::before{content:attr(data-label);min-width:6.5em;color:#6b7280;
font-size:.78rem}table.cards td.whole{display:block}table.cards td.whole::before{content:none}}
""".strip()

STYLE_HASH = "sha256-" + base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
CONTENT_SECURITY_POLICY = (f"default-src 'none'; style-src '{STYLE_HASH}'; img-src data:; "
                           "base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def _badge(verdict: str, text: str | None = None) -> str:
    return f'<span class="badge b-{escape(verdict)}">{escape(text or verdict)}</span>'


def _needed(r: CriterionResult) -> str:
    if not r.needs:
        return "—"
    return ", ".join(f"{value:g} more {escape(key)}" for key, value in r.needs.items())


def _samples(r: CriterionResult) -> str:
    return " / ".join(f"{escape(k)} {v}" for k, v in r.samples.items()) or "—"


def _criterion_row(r: CriterionResult) -> str:
    unit = value_unit(r)
    reference = (f"{escape(fmt_value(r.reference_value, unit))} ({escape(r.reference)})"
                 if r.reference != "none" else "—")
    strip = strip_for(r)
    plot = strip_svg(strip, r.verdict) if strip is not None else ""
    return (f'<tr id="criterion-{escape(r.id)}" data-verdict="{escape(r.verdict)}">'
            f'<td class="whole"><strong>{escape(r.title)}</strong><br><code>{escape(r.id)}'
            f'</code><div class="reason">{escape(r.reason)}</div></td>'
            f'<td data-label="verdict">{_badge(r.verdict)}</td>'
            f'<td data-label="canary">{escape(fmt_value(r.canary_value, unit))}</td>'
            f'<td data-label="reference">{reference}</td>'
            f'<td data-label="threshold">{escape(r.threshold_text)}</td>'
            f'<td data-label="bound">{plot}</td>'
            f'<td class="hide-narrow" data-label="samples">{_samples(r)}</td>'
            f'<td data-label="still needed">{_needed(r)}</td></tr>')


def _approvals(decision: Decision) -> str:
    status = decision.approvals or {}
    required = status.get("required", [])
    if not required:
        return '<p class="muted">The policy asks for no approval.</p>'
    rows = []
    for role in required:
        entry = status.get("given", {}).get(role)
        if entry:
            rows.append(f"<tr><td>{escape(role)}</td><td>{_badge('go', 'recorded')}</td>"
                        f"<td>{escape(str(entry.get('name') or ''))}</td>"
                        f"<td>{escape(str(entry.get('at') or ''))}</td></tr>")
        else:
            rows.append(f"<tr><td>{escape(role)}</td><td class=\"missing\">missing</td>"
                        "<td>—</td><td>—</td></tr>")
    return ('<div class="wrap"><table><thead><tr><th>role</th><th>go</th><th>who</th>'
            f"<th>when</th></tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def _plan(snapshot: Snapshot) -> str:
    plan = snapshot.figures.plan if snapshot.figures else None
    if plan is None:
        return '<p class="muted">No plan yet: it comes with the first evaluation.</p>'
    rows = "".join(f'<tr><td class="whole"><code>{escape(r.id)}</code> '
                   f"{_badge(r.verdict, r.verdict.replace('_', ' '))}</td>"
                   f'<td class="whole">{escape(r.sentence)}</td></tr>' for r in plan.rows)
    cannot = plan.cannot_decide
    head = (f"<p><strong>Cannot decide within this phase:</strong> "
            f"{escape(', '.join(r.id for r in cannot))}</p>" if cannot else
            "<p>Every evaluated criterion can decide within this phase.</p>")
    return (f"{head}<p class=\"muted\">At this window's own pace; what is caught 9 times in 10 "
            f"at per-test confidence {plan.confidence:.4f}.</p><div class=\"wrap\">"
            f'<table class="cards">'
            f"<thead><tr><th>criterion</th><th>what the phase can detect</th></tr>"
            f"</thead><tbody>{rows}</tbody></table></div>")


def render_page(state: ServeState, snapshot: Snapshot) -> bytes:
    decision = snapshot.decisions[snapshot.served_phase]
    verdict = decision.verdict
    inputs = decision.inputs
    order = {"rollback": 0, "hold": 1, "go": 2, "not_applicable": 3}
    criteria = sorted(decision.criteria, key=lambda r: order.get(r.verdict, 9))
    rows = "".join(_criterion_row(r) for r in criteria)
    figures = snapshot.figures
    limit = 150.0
    for r in decision.criteria:
        if r.metric == "latency_p95_absolute":
            limit = r.threshold
    latency = latency_svg(figures.latency if figures else {}, limit)
    timeline = timeline_svg([(e.at, e.verdict) for e in state.timeline], state.started_at,
                            snapshot.evaluated_at)
    refresh = max(5, min(30, round(state.stale_after_s / 6)))
    builds = ", ".join(inputs.get("canary_builds", [])) or "—"
    control_builds = ", ".join(inputs.get("control_builds", [])) or "—"
    notes = "".join(f"<li>{escape(n)}</li>" for n in decision.notes)
    # The first sentence leads; a hold's long list of reasons folds away (no script).
    headline, _, rest = decision.summary.partition(". ")
    details = (f"<details><summary>the full summary</summary><p>{escape(decision.summary)}"
               "</p></details>" if rest else "")
    html = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="refresh" content="{refresh}">
<link rel="icon" href="data:,">
<title>{escape(verdict.upper())}: phase {escape(decision.phase)} - synthmon gate</title>
<style>{STYLE}</style></head>
<body><main>
<div class="verdict v-{escape(verdict)}" id="verdict" data-verdict="{escape(verdict)}">
<h1>{escape(verdict.upper())}</h1>
<p>{escape(headline)}</p>{details}
<div class="meta"><span>phase {escape(decision.phase)}</span>
<span>evaluation {snapshot.number}, {escape(_when(snapshot.evaluated_at))}</span>
<span>window {inputs.get('window_s', 0):g} s</span>
<span>canary build {escape(builds)}</span><span>control build {escape(control_builds)}</span>
<span>samples canary {inputs.get('canary_samples', 0)} / control
{inputs.get('control_samples', 0)}</span></div></div>
<section><h2>Criteria</h2><div class="wrap"><table id="criteria" class="cards">
<thead><tr><th>criterion</th><th>verdict</th><th>canary</th><th>reference</th>
<th>threshold</th><th>value, bound, reference, threshold</th>
<th class="hide-narrow">samples</th><th>still needed</th></tr></thead>
<tbody>{rows}</tbody></table></div>
{f'<ul class="muted">{notes}</ul>' if notes else ''}</section>
<section><h2>Verdicts in this phase</h2>{timeline}</section>
<section><h2>Approvals for phase {escape(decision.phase)}</h2>{_approvals(decision)}</section>
<section><h2>Latency of critical calls: canary vs control</h2>{latency}</section>
<section><h2>What this phase can detect</h2>{_plan(snapshot)}</section>
<p class="muted">Machine-readable: <a href="/api/v1/verdict">/api/v1/verdict</a>,
<a href="/metrics">/metrics</a>. This page reloads every {refresh} s.</p>
</main></body></html>
"""
    return html.encode()

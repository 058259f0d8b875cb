"""Inline SVG for the ship-room page: no script, no external resource, readable at any
width (a viewBox, scaled by CSS). Two kinds: the latency distributions of canary and
control side by side, and one strip per criterion with its value, its confidence bound,
the reference and the threshold on one axis."""

from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape

from synthmon.gate.model import CriterionResult
from synthmon.gate.serve.figures import Distribution

COLOURS = {"canary": "#c2410c", "control": "#1d4ed8"}


def _fmt_ms(value: float) -> str:
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def latency_svg(distributions: dict[str, Distribution], limit_ms: float) -> str:
    """ECDF of each cohort's timed critical calls on a log axis, P95 marked, the limit drawn."""
    shown = [d for d in distributions.values() if d.quantiles_ms]
    if not shown:
        return '<p class="muted">No timed critical call in the window yet.</p>'
    width, height, left, right, top, bottom = 640, 240, 48, 16, 12, 36
    low = max(0.5, min(d.quantiles_ms[0] for d in shown))
    high = max(limit_ms * 1.2, max(d.quantiles_ms[-1] for d in shown))
    span = math.log10(high) - math.log10(low)

    def x(ms: float) -> float:
        return left + (math.log10(max(ms, low)) - math.log10(low)) / span * (width - left - right)

    def y(fraction: float) -> float:
        return top + (1 - fraction) * (height - top - bottom)

    parts = [f'<svg class="plot" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="latency distribution, canary and control">']
    for fraction in (0, 0.5, 0.95, 1):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(fraction):.1f}" '
                     f'y2="{y(fraction):.1f}" stroke="#ddd"/>'
                     f'<text x="{left - 6}" y="{y(fraction) + 4:.1f}" text-anchor="end" '
                     f'class="tick">{fraction:.0%}</text>')
    tick = 10 ** math.floor(math.log10(low))
    while tick <= high:
        for mult in (1, 2, 5):
            ms = tick * mult
            if low <= ms <= high:
                parts.append(f'<text x="{x(ms):.1f}" y="{height - bottom + 16}" '
                             f'text-anchor="middle" class="tick">{_fmt_ms(ms)}</text>')
        tick *= 10
    parts.append(f'<text x="{(width + left) / 2:.0f}" y="{height - 4}" text-anchor="middle" '
                 'class="tick">ms per call (log scale), share of calls at or below</text>')
    parts.append(f'<line x1="{x(limit_ms):.1f}" x2="{x(limit_ms):.1f}" y1="{top}" '
                 f'y2="{height - bottom}" stroke="#b91c1c" stroke-dasharray="4 3"/>'
                 f'<text x="{x(limit_ms) + 4:.1f}" y="{top + 10}" class="tick limit">'
                 f'{limit_ms:g} ms</text>')
    for d in shown:
        colour = COLOURS.get(d.cohort, "#444")
        count = len(d.quantiles_ms)
        points = " ".join(f"{x(ms):.1f},{y(i / (count - 1)):.1f}"
                          for i, ms in enumerate(d.quantiles_ms))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{points}"/>')
        if d.p95_ms is not None:
            parts.append(f'<circle cx="{x(d.p95_ms):.1f}" cy="{y(0.95):.1f}" r="4" '
                         f'fill="{colour}"/>')
    # Bottom right: an ECDF leaves that corner (slow calls, small shares) empty.
    legend_x, legend_y = width - right - 220, y(0.25)
    for i, d in enumerate(shown):
        colour = COLOURS.get(d.cohort, "#444")
        p95 = f"P95 {d.p95_ms:.1f} ms" if d.p95_ms is not None else ""
        parts.append(f'<rect x="{legend_x}" y="{legend_y + 16 * i:.1f}" width="12" height="4" '
                     f'fill="{colour}"/><text x="{legend_x + 18}" y="{legend_y + 16 * i + 5:.1f}" '
                     f'class="tick">{escape(d.cohort)}: {d.n} calls, {p95}</text>')
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Strip:
    """One axis: where the value, its bound, the reference and the threshold lie."""

    value: float | None
    lower: float | None
    upper: float | None
    reference: float | None
    threshold: float
    label: str  # what the axis measures
    as_percent: bool


def strip_for(r: CriterionResult) -> Strip | None:
    b = r.bound
    if r.verdict == "not_applicable" or not b or "note" in b:
        return None
    if "p95_ratio" in b:
        return Strip(b["p95_ratio"], None, None, 1.0, 1 + r.threshold, "P95 ratio", False)
    lower, upper = b.get("lower"), b.get("upper")
    of = str(b.get("of", ""))
    if r.unit == "ms":
        return Strip(r.canary_value, lower, upper, None, r.threshold, "ms", False)
    if r.unit == "budget_fraction":
        return None  # a burn multiple against a limit the threshold text states
    if "/ control rate" in of:
        value = (r.canary_value / r.reference_value
                 if r.canary_value is not None and r.reference_value else None)
        # Completion is a good event: trouble lies below 1 - threshold, not above 1 + it.
        limit = 1 - r.threshold if r.metric == "signup_completion_drop" else 1 + r.threshold
        return Strip(value, lower, upper, 1.0, limit, "canary / control", False)
    if "minus" in of:
        value = (r.canary_value - r.reference_value
                 if r.canary_value is not None and r.reference_value is not None else None)
        return Strip(value, lower, upper, 0.0, r.threshold, "canary minus reference", True)
    return Strip(r.canary_value, lower, upper, r.reference_value, r.threshold, "rate", True)


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def strip_svg(strip: Strip, verdict: str) -> str:
    width, height, pad = 220, 30, 8
    values = [v for v in (strip.value, strip.lower, strip.upper, strip.reference,
                          strip.threshold) if v is not None and math.isfinite(v)]
    low = min([0.0, *values]) if strip.as_percent or strip.label == "rate" else min(values)
    high = max(values) * 1.15 if values else 1.0
    if high <= low:
        high = low + 1.0

    def x(value: float) -> float:
        clipped = min(max(value, low), high)
        return pad + (clipped - low) / (high - low) * (width - 2 * pad)

    def text(value: float) -> str:
        return f"{value:.2%}" if strip.as_percent else f"{value:.3g}"

    colour = {"rollback": "#b91c1c", "go": "#15803d", "hold": "#b45309"}.get(verdict, "#555")
    parts = [f'<svg class="strip" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(strip.label)}">',
             f'<line x1="{pad}" x2="{width - pad}" y1="15" y2="15" stroke="#ccc"/>']
    lower, upper = _finite(strip.lower), _finite(strip.upper)
    if lower is not None or upper is not None:
        a = x(lower if lower is not None else low)
        z = x(upper if upper is not None else high)
        parts.append(f'<rect x="{a:.1f}" y="10" width="{max(z - a, 1.5):.1f}" height="10" '
                     f'fill="{colour}" fill-opacity="0.25"/>')
    reference = _finite(strip.reference)
    if reference is not None:
        parts.append(f'<line x1="{x(reference):.1f}" x2="{x(reference):.1f}" y1="6" y2="24" '
                     'stroke="#1d4ed8" stroke-width="2"/>')
    parts.append(f'<line x1="{x(strip.threshold):.1f}" x2="{x(strip.threshold):.1f}" y1="2" '
                 'y2="28" stroke="#b91c1c" stroke-dasharray="3 2" stroke-width="2"/>')
    value = _finite(strip.value)
    if value is not None:
        parts.append(f'<circle cx="{x(value):.1f}" cy="15" r="4" fill="{colour}"/>')
    title = (f"value {text(value) if value is not None else '—'}, bound "
             f"[{text(lower) if lower is not None else '—'}, "
             f"{text(upper) if upper is not None else '—'}], threshold {text(strip.threshold)}")
    parts.append(f"<title>{escape(title)}</title></svg>")
    return "".join(parts)


def timeline_svg(verdicts: list[tuple[float, str]], started_at: float, now: float) -> str:
    """One mark per evaluation of the phase, coloured by verdict, on the time since start."""
    if not verdicts:
        return '<p class="muted">No evaluation yet.</p>'
    width, height, pad = 640, 36, 6
    span = max(now - started_at, 1.0)
    colours = {"go": "#15803d", "rollback": "#b91c1c", "hold": "#d97706", "error": "#6b21a8"}
    parts = [f'<svg class="timeline" viewBox="0 0 {width} {height}" role="img" '
             'aria-label="verdicts over time">',
             f'<line x1="{pad}" x2="{width - pad}" y1="14" y2="14" stroke="#ddd"/>']
    step = max(2.0, (width - 2 * pad) / max(len(verdicts), 1) * 0.8)
    for at, verdict in verdicts:
        x = pad + (at - started_at) / span * (width - 2 * pad - step)
        parts.append(f'<rect x="{x:.1f}" y="6" width="{step:.1f}" height="16" '
                     f'fill="{colours.get(verdict, "#888")}"><title>{escape(verdict)}</title>'
                     "</rect>")
    parts.append(f'<text x="{pad}" y="{height - 2}" class="tick">start</text>'
                 f'<text x="{width - pad}" y="{height - 2}" text-anchor="end" class="tick">'
                 f'now (+{span / 60:.0f} min)</text></svg>')
    return "".join(parts)

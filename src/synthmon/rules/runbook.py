"""The generated parts of RUNBOOK.md: endpoints, SLO, thresholds, ramp, alerts.

RUNBOOK.md holds blocks between `<!-- synthmon:NAME:begin -->` and `<!-- synthmon:NAME:end -->`
markers; `synthmon rules --update-runbook=RUNBOOK.md` rewrites them from the policy and the
rules, and a selftest fails when the file differs from what this module would write. The
prose around the blocks is written by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from synthmon import durations
from synthmon.alerting import names
from synthmon.alerting.settings import read_alerting
from synthmon.policy import Policy
from synthmon.rules.build import alerts_of, build_rules

_BLOCK = re.compile(r"(<!-- synthmon:(?P<name>[a-z]+):begin -->\n)(?P<body>.*?)"
                    r"(<!-- synthmon:(?P=name):end -->)", re.S)

_COMPARISON = {
    "absolute": "canary above the threshold",
    "relative_to_control": "canary vs control, relative",
    "relative_to_baseline": "canary vs baseline (the control when no baseline), relative",
    "percentage_points": "canary vs baseline (the control when none), percentage points",
}


def _threshold(c: dict[str, Any]) -> str:
    value, unit, comparison = float(c["threshold"]), c["unit"], c["comparison"]
    if unit == "ms":
        return f"P95 > {value:g} ms"
    if unit == "count":
        return f"> {value:g}"
    if unit == "budget_fraction":
        return f"> {value * 100:g}% of the error budget in one phase"
    if comparison == "percentage_points":
        return f"+{value * 100:g} pp"
    if comparison == "relative_to_control" and c["metric"].endswith("drop"):
        return f"{value * 100:g}% below"
    if comparison.startswith("relative"):
        return f"> {value * 100:g}% above"
    return f"> {value * 100:g}%"


def thresholds(policy: Policy) -> str:
    rows = ["| criterion | what | threshold | compared | min. sample | data |",
            "|---|---|---|---|--:|---|"]
    for c in policy.data["criteria"]:
        rows.append(f"| `{c['id']}` | {c['title']} | {_threshold(c)} | "
                    f"{_COMPARISON.get(c['comparison'], c['comparison'])} | "
                    f"{c['min_samples']} | {c['source']} |")
    window = policy.data["window"]
    rows += ["", f"Rolling window: **{window}**. Any one criterion tripping means rollback."]
    for c in policy.criteria:
        if c.unit != "ms":
            continue
        own = {e: limit for e, limit in policy.p95_limits_ms(c.threshold).items()
               if limit != c.threshold}
        if own:
            rows += ["", f"`{c.id}`: a critical endpoint whose budget is larger is held to its "
                         "budget instead (the gate and the alerts alike): "
                     + ", ".join(f"`{e}` {limit:g} ms" for e, limit in own.items()) + "."]
    return "\n".join(rows)


def slo(policy: Policy) -> str:
    s = policy.data["slo"]
    return "\n".join([
        f"- Availability: **{float(s['availability']) * 100:g}%** "
        f"(error budget period {s['error_budget_period']})",
        f"- Latency: P95 about **{s['latency_p95_ms']} ms**",
    ])


def phases(policy: Policy) -> str:
    approvals = ", ".join(policy.approvals)
    rows = ["| phase | traffic | duration | scope (suite markers) | go needs |",
            "|---|--:|---|---|---|"]
    for name, p in policy.data["phases"].items():
        scope = p.get("scope") or "everything"
        rows.append(f"| `{name}` | {p['traffic_percent']}% | {p['duration']} | "
                    f"`{scope}` | green gate + {approvals} |")
    return "\n".join(rows)


def endpoints(policy: Policy) -> str:
    rows = ["| target | URL | cohort | environment |", "|---|---|---|---|"]
    for name, t in policy.targets.items():
        rows.append(f"| `{name}` | {t['url']} | {t['cohort']} | {t['environment']} |")
    rows += ["", "| endpoint | critical | budget | hard limit |", "|---|---|--:|--:|"]
    budgets = policy.data["budgets"]["endpoints"]
    for name, b in budgets.items():
        rows.append(f"| `{name}` | {'yes' if b['critical'] else 'no'} | "
                    f"{b['budget_ms']} ms | {b['hard_limit_ms']} ms |")
    return "\n".join(rows)


def alerts(policy: Policy) -> str:
    rows = ["| alert | severity | criterion / kind | summary |", "|---|---|---|---|"]
    seen = set()
    for rule in alerts_of(build_rules(policy)):
        labels = rule["labels"]
        kind = (labels.get("criterion") or labels.get("trend")
                or ("synthetic monitor" if labels.get("component") == "synthetic" else None)
                or ("release gate" if labels.get("component") == "gate" else None)
                or f"{labels.get('slo')} SLO burn {labels.get('burn_rate')}x")
        summary = re.sub(r"\{\{ \$labels\.(\w+) \}\}", r"<\1>", rule["annotations"]["summary"])
        if (rule["alert"], summary) in seen:
            continue
        seen.add((rule["alert"], summary))
        rows.append(f"| [{rule['alert']}](#{rule['alert'].lower()}) | {labels['severity']} | "
                    f"{kind} | {summary} |")
    return "\n".join(rows)


def maintenance(policy: Policy) -> str:
    """The policy's recurring windows (muted by Alertmanager itself) and the amtool commands
    that silence the synthetic monitor for a one-off window."""
    settings = read_alerting(policy)
    url = f"--alertmanager.url={settings.alertmanager_url}"
    rows = ["| window | when | muted |", "|---|---|---|"]
    for w in settings.maintenance:
        rows.append(f"| `{w.name}` | {', '.join(w.weekdays)} {w.start}-{w.end} {w.location} | "
                    f"{', '.join(w.mute)} |")
    if not settings.maintenance:
        rows.append("| (none) | | |")
    minutes = settings.maintenance[0].minutes if settings.maintenance else 60
    length = durations.prometheus_form(minutes * 60)
    production = [name for name, t in policy.targets.items()
                  if t.get("environment") == "production"]
    lines = [*rows, "",
             "A one-off window (a migration, a provider's maintenance): silence the synthetic "
             "monitor's alerts for one target, from a given start (RFC 3339, UTC) for its "
             "length, then check and, if the work ends early, expire it:", ""]
    for target in production:
        lines.append(f"    amtool silence add {url} --author=\"TODO(name-ic)\" "
                     f"--comment=\"planned maintenance of {target}: TODO(change-ticket)\" "
                     f"--start=YYYY-MM-DDTHH:MM:00Z --duration={length} "
                     f"'component=\"{names.COMPONENT}\"' 'target=\"{target}\"'")
    lines += [f"    amtool silence query {url} 'component=\"{names.COMPONENT}\"'",
              f"    amtool silence expire {url} SILENCE_ID"]
    return "\n".join(lines)


GENERATORS: dict[str, Callable[[Policy], str]] = {
    "endpoints": endpoints, "slo": slo, "thresholds": thresholds, "phases": phases,
    "alerts": alerts, "maintenance": maintenance,
}


def render(text: str, policy: Policy) -> str:
    """The runbook with every generated block rewritten; unknown block names are errors."""
    def replace(match: re.Match[str]) -> str:
        name = match.group("name")
        if name not in GENERATORS:
            raise ValueError(f"RUNBOOK.md: unknown generated block {name!r} "
                             f"(known: {', '.join(GENERATORS)})")
        return f"{match.group(1)}{GENERATORS[name](policy)}\n{match.group(4)}"

    return _BLOCK.sub(replace, text)


def block_names(text: str) -> list[str]:
    return [m.group("name") for m in _BLOCK.finditer(text)]

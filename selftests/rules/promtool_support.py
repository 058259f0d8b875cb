"""Writing `promtool test rules` files from Python: input series in, expected alerts out.

The expected annotations are rendered from the generated rules themselves (they use only
`$labels`), so a test states which alerts fire with which labels, and the annotation text
cannot drift from the rule file it checks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

JOB = "scholarshipai"
INSTANCE = {"canary": "canary:8000", "control": "control:8000"}


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        pytest.fail(
            "promtool is not installed, so the Prometheus rules cannot be checked: "
            "run `make system-deps` (Debian's prometheus package) and try again"
        )
    return path


def counter(*segments: tuple[float, int]) -> str:
    """Expanding notation for a counter that grows by `step` per interval for `n` intervals,
    segment after segment: counter((1, 60), (5, 30)) is 91 values, 0..60 then +5 each."""
    parts: list[str] = []
    value = 0.0
    for index, (step, n) in enumerate(segments):
        if index == 0:
            parts.append(f"{value:g}+{step:g}x{n}")
        else:
            parts.append(f"{value + step:g}+{step:g}x{n - 1}")
        value += step * n
    return " ".join(parts)


def gauge(value: float, n: int) -> str:
    return f"{value:g}+0x{n}"


def labels_text(labels: dict[str, str]) -> str:
    return ",".join(f'{k}="{v}"' for k, v in labels.items())


@dataclass
class Scenario:
    """One promtool test group: a set of series and the alerts expected at given times."""

    name: str
    minutes: int  # how long every series runs
    step: int = 1  # minutes between two samples (long scenarios use 5 to stay fast)
    series: list[dict[str, str]] = field(default_factory=list)
    expectations: list[tuple[str, str, list[dict[str, str]]]] = field(default_factory=list)

    def counter(self, *segments: tuple[float, int]) -> str:
        """Segments of (increase per minute, minutes), sampled every `step` minutes."""
        return counter(*((per_min * self.step, minutes // self.step)
                         for per_min, minutes in segments))

    def add(self, metric: str, labels: dict[str, str], values: str) -> Scenario:
        self.series.append({"series": f"{metric}{{{labels_text(labels)}}}", "values": values})
        return self

    def instance(self, cohort: str) -> Scenario:
        """The build_info series every scraped instance exposes."""
        return self.add("scholarshipai_build_info", {
            "build_id": f"build-{cohort}", "cohort": cohort, "git_sha": "abc1234",
            "instance": INSTANCE[cohort], "job": JOB}, gauge(1, self.minutes // self.step))

    def requests(self, cohort: str, per_min: float, status_class: str = "2xx",
                 method: str = "GET", route: str = "/api/v1/scholarships",
                 segments: tuple[tuple[float, int], ...] | None = None) -> Scenario:
        return self.add("scholarshipai_http_requests_total", {
            "cohort": cohort, "instance": INSTANCE[cohort], "job": JOB, "method": method,
            "route": route, "status_class": status_class, "synthetic": "false",
        }, self.counter(*(segments or ((per_min, self.minutes),))))

    def family(self, metric: str, cohort: str, labels: dict[str, str],
               segments: tuple[tuple[float, int], ...]) -> Scenario:
        """A family the target does not label by cohort, exposed by the cohort's instance:
        the scrape config's target label gives it the cohort (the policy's PromQL and the
        rules built from it assume so)."""
        return self.add(metric, {**labels, "cohort": cohort, "instance": INSTANCE[cohort],
                                 "job": JOB},
                        self.counter(*segments))

    def histogram(self, metric: str, labels: dict[str, str], per_min_by_le: dict[str, float],
                  per_min: float) -> Scenario:
        """Cumulative buckets: per_min_by_le gives how many per minute land at or below le."""
        for le, count in per_min_by_le.items():
            self.add(f"{metric}_bucket", {**labels, "le": le},
                     self.counter((count, self.minutes)))
        self.add(f"{metric}_bucket", {**labels, "le": "+Inf"},
                 self.counter((per_min, self.minutes)))
        self.add(f"{metric}_count", labels, self.counter((per_min, self.minutes)))
        return self

    def expect(self, at_minute: int, alertname: str, *alerts: dict[str, str]) -> Scenario:
        self.expectations.append((f"{at_minute}m", alertname, list(alerts)))
        return self


def _render(template: str, labels: dict[str, str]) -> str:
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), template)


def _rule_for(rules: dict[str, Any], alertname: str, labels: dict[str, str]) -> dict[str, Any]:
    """The rule of that name whose own labels the alert carries; of several (one alert name,
    several forms), the one that states the most of them."""
    candidates = [
        rule for group in rules["groups"] for rule in group["rules"]
        if rule.get("alert") == alertname and all(
            labels.get(k) == v for k, v in rule["labels"].items()
            if k not in ("severity", "component", "criterion"))
    ]
    if not candidates:
        raise AssertionError(f"no rule {alertname} matching {labels}")
    return max(candidates, key=lambda rule: len(rule["labels"]))


def promtool_test_doc(rules: dict[str, Any], rule_file: Path,
                      scenarios: list[Scenario]) -> dict[str, Any]:
    steps = {s.step for s in scenarios}
    assert len(steps) == 1, "one promtool file evaluates at one interval: one step per group"
    tests = []
    for scenario in scenarios:
        alert_tests = []
        for eval_time, alertname, alerts in scenario.expectations:
            expected = []
            for wanted in alerts:
                # "_annotations": values a template computes by query (synthetic ids), stated
                # by the test; the others are rendered from the alert's labels.
                alert_labels = {k: v for k, v in wanted.items() if k != "_annotations"}
                rule = _rule_for(rules, alertname, alert_labels)
                labels = {**rule["labels"], **alert_labels}
                expected.append({
                    "exp_labels": labels,
                    "exp_annotations": {**{k: _render(v, labels)
                                           for k, v in rule["annotations"].items()},
                                        **wanted.get("_annotations", {})},
                })
            alert_tests.append({"eval_time": eval_time, "alertname": alertname,
                                "exp_alerts": expected})
        tests.append({"name": scenario.name, "interval": f"{scenario.step}m",
                      "input_series": scenario.series, "alert_rule_test": alert_tests})
    return {"rule_files": [str(rule_file)], "evaluation_interval": f"{steps.pop()}m",
            "tests": tests}


def run_promtool_test(path: Path, test: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    path.write_text(yaml.safe_dump(test, sort_keys=False), encoding="utf-8")
    return subprocess.run([promtool(), "test", "rules", str(path)], capture_output=True,
                          text=True, timeout=120, check=False)

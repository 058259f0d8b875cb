"""`/metrics`: the stored verdict as Prometheus series, so the alerting rules can page on a
rollback verdict or a stale gate without asking the gate anything else. Read from the
current snapshot at scrape time by a custom collector (its own registry: nothing else in
the process leaks in)."""

from __future__ import annotations

import time
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from synthmon.gate.serve.state import ServeState

VERDICTS = ("go", "hold", "rollback", "error")
CRITERION_VERDICTS = ("go", "hold", "rollback", "not_applicable")


class _GateCollector(Collector):
    def __init__(self, state: ServeState):
        self.state = state

    def collect(self) -> Iterator[Metric]:
        state = self.state
        now = time.time()
        snapshot = state.current()
        phase = state.served_phase
        decision = state.decision(phase, now)
        overall = GaugeMetricFamily(
            "synthmon_gate_verdict",
            "1 for the gate's current verdict of the served phase, 0 for the others "
            "(error: it could not evaluate, or its last evaluation is stale)",
            labels=["phase", "verdict"])
        for verdict in VERDICTS:
            overall.add_metric([phase, verdict], 1.0 if decision.verdict == verdict else 0.0)
        yield overall
        per = GaugeMetricFamily(
            "synthmon_gate_criterion_verdict",
            "1 for each criterion's current verdict, 0 for the others",
            labels=["phase", "criterion", "verdict"])
        for r in decision.criteria:
            for verdict in CRITERION_VERDICTS:
                per.add_metric([phase, r.id, verdict], 1.0 if r.verdict == verdict else 0.0)
        yield per
        yield GaugeMetricFamily(
            "synthmon_gate_last_evaluation_timestamp_seconds",
            "Unix time of the last evaluation (0: none yet)",
            value=snapshot.evaluated_at if snapshot.number else 0.0)
        yield GaugeMetricFamily(
            "synthmon_gate_evaluation_age_seconds",
            "Seconds since the last evaluation (since the start while there is none)",
            value=max(0.0, now - snapshot.evaluated_at))
        yield GaugeMetricFamily(
            "synthmon_gate_stale_after_seconds",
            "Age past which the stored verdict is no longer served as the gate's word",
            value=state.stale_after_s)
        yield GaugeMetricFamily(
            "synthmon_gate_evaluation_duration_seconds",
            "How long the last evaluation took (every phase judged on one window)",
            value=state.last_duration_s)
        counts = CounterMetricFamily(
            "synthmon_gate_evaluations", "Evaluations made, by the served phase's verdict",
            labels=["phase", "verdict"])
        for verdict in VERDICTS:
            counts.add_metric([phase, verdict],
                              float(state.evaluations_by_verdict.get(verdict, 0)))
        yield counts
        yield CounterMetricFamily(
            "synthmon_gate_evaluation_errors",
            "Evaluations that could not be made (verdict error)", value=float(state.errors))
        info = GaugeMetricFamily("synthmon_gate_builds_info",
                                 "Builds the last evaluation saw, per cohort",
                                 labels=["cohort", "build_id"])
        for cohort in ("canary", "control"):
            for build in decision.inputs.get(f"{cohort}_builds", []):
                info.add_metric([cohort, build], 1.0)
        yield info


def registry_for(state: ServeState) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_GateCollector(state))
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)

"""The run's context, decided once per process before anything reads it.

On the xdist controller (or a run without xdist) it is made from the options and what the
target's `GET /health` reports (its build and git sha, unless --build-id/--git-sha say);
workers receive the controller's decision through `workerinput`, so the run probes the
target once. A target that does not answer the probe, or serves another build than
--expect-build, ends the run before its first check (RunAbort): one sentence, not a failure
per check.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest

from synthmon.policy import Policy, PolicyError, load_policy
from synthmon.run_context import (
    TARGET_UNREACHABLE,
    WORKERINPUT_KEY,
    WRONG_BUILD,
    RunAbort,
    RunContext,
    new_run_id,
)
from synthmon.suite.client import ApiClient, ClientCore, TargetDown
from synthmon.targets import TargetError, TargetSpec, down, health_report, resolve

COHORTS = ("canary", "control")
_WORKERINPUT_TARGET = "synthmon_target_state"


@dataclass(frozen=True, slots=True)
class RunStart:
    """The process's decision: the context, and whether the run ends before its checks."""

    context: RunContext
    abort: RunAbort | None = None

    def to_workerinput(self) -> dict[str, Any]:
        abort = self.abort
        state = {"outcome": abort.outcome, "reason": abort.reason} if abort else None
        return {WORKERINPUT_KEY: self.context.to_dict(), _WORKERINPUT_TARGET: state}

    @classmethod
    def from_workerinput(cls, workerinput: dict[str, Any]) -> RunStart:
        state = workerinput.get(_WORKERINPUT_TARGET)
        abort = RunAbort(state["outcome"], state["reason"]) if state else None
        return cls(RunContext.from_dict(workerinput[WORKERINPUT_KEY]), abort)


def load_policy_and_target(config: pytest.Config) -> tuple[Policy, TargetSpec]:
    """The policy and --target, or a usage error that says what is wrong with them."""
    explicit = config.getoption("synthmon_policy")
    path = Path(explicit) if explicit else config.rootpath / "canary-policy.yaml"
    try:
        policy = load_policy(path)
        return policy, resolve(config.getoption("synthmon_target"), policy)
    except (PolicyError, TargetError) as exc:
        raise pytest.UsageError(str(exc)) from exc


def given_context(config: pytest.Config, spec: TargetSpec) -> RunContext:
    """What the options say, before the target is asked: its build may still be unknown."""
    cohort = config.getoption("synthmon_cohort") or spec.cohort
    if cohort not in COHORTS:
        raise pytest.UsageError(f"--cohort {cohort}: must be one of {', '.join(COHORTS)}")
    return RunContext(
        run_id=new_run_id(),
        target=spec.url or "embedded",
        target_name=spec.name,
        cohort=cohort,
        region=config.getoption("synthmon_region") or "local",
        device=config.getoption("synthmon_device") or "desktop",
        build_id=config.getoption("synthmon_build_id") or "",
        git_sha=config.getoption("synthmon_git_sha") or "",
        environment=spec.environment,
        started_at=time.time(),
    )


def probe(core: ClientCore, given: RunContext, label: str, expect_build: str) -> RunStart:
    """GET /health once: a target that does not answer is down for the whole run (one
    abort instead of a failure per check, each waiting out its timeouts), and a target
    serving another build than --expect-build ends the run too: a gate must never compare
    canary with canary because of mis-routing. The call is the suite's own, not a check's;
    the reports keep it only as the evidence of an unreachable target."""
    try:
        response = ApiClient(core).request("GET", "/health", expect=200, checked=False)
    except TargetDown as exc:
        return RunStart(given, RunAbort(TARGET_UNREACHABLE, down(label, str(exc))))
    reported = health_report(response.status_code, response.content)
    build_id = str(reported.get("build_id") or "")
    context = replace(given, build_id=given.build_id or build_id,
                      git_sha=given.git_sha or str(reported.get("git_sha") or ""))
    if expect_build and build_id != expect_build:
        seen = (f"reports build {build_id!r}" if build_id else
                f"did not report a build (GET /health answered {response.status_code})")
        return RunStart(context, RunAbort(WRONG_BUILD, (
            f"the target {label} {seen}, but --expect-build is {expect_build!r}: stopping "
            f"rather than measuring the wrong build [synthetic id {response.synthetic_id}]")))
    return RunStart(context)

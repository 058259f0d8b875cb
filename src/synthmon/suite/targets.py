"""Which API the checks talk to: a URL, a target named in the policy, or the embedded sandbox.

The embedded sandbox is started as a process (synthmon.sandbox_process) by the xdist
controller or the only process, before the run's context is decided, and stopped by it at
session end, Ctrl-C included: the checks speak HTTP to it exactly as to production.
"""

from __future__ import annotations

from dataclasses import dataclass

from synthmon.policy import Policy

EMBEDDED = "embedded"
DEFAULT_TARGET = "sandbox"
START_TIMEOUT_S = 30.0


class TargetError(Exception):
    """The target cannot be used: unknown name, sandbox failed to start, wrong build..."""


@dataclass(frozen=True, slots=True)
class TargetSpec:
    name: str  # the policy's name, or "url"
    url: str | None  # None: start the embedded sandbox
    cohort: str
    environment: str


def resolve(value: str | None, policy: Policy) -> TargetSpec:
    """--target / SYNTH_TARGET -> TargetSpec; no value means the policy's `sandbox` target."""
    value = (value or "").strip() or DEFAULT_TARGET
    if value.startswith(("http://", "https://")):
        return TargetSpec("url", value.rstrip("/"), "control", "custom")
    targets = policy.targets
    if value not in targets:
        if value == DEFAULT_TARGET:
            return TargetSpec(DEFAULT_TARGET, None, "control", "sandbox")
        raise TargetError(
            f"--target {value}: neither an http(s) URL nor a target named in {policy.path} "
            f"(known: {', '.join(sorted(targets))})"
        )
    entry = targets[value]
    url = str(entry.get("url", ""))
    return TargetSpec(
        name=value,
        url=None if url == EMBEDDED else url.rstrip("/"),
        cohort=str(entry.get("cohort", "control")),
        environment=str(entry.get("environment", "sandbox" if url == EMBEDDED else "custom")),
    )

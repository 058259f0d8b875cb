"""The embedded sandbox, started as early as pytest lets a plugin act.

A sandbox takes about half a second to serve. Started when the suite decides the run's
context (its pytest_configure), that half second is spent waiting; started in
pytest_load_initial_conftests, when the command line has just been read, it boots while
pytest imports conftest.py and configures its plugins. The suite then takes it over if it
is the sandbox it would have started itself (same cohort, build and git sha); otherwise, or
when the run ends early, pytest's clean-up stops it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthmon.policy import PolicyError, load_policy
from synthmon.sandbox_process import SandboxProcess, spawn_sandbox
from synthmon.targets import TargetError, resolve

# (cohort, build id, git sha) -> the sandbox started for them
_EARLY_KEY = pytest.StashKey[tuple[tuple[str, str, str], SandboxProcess]]()
_LISTING_ONLY = ("help", "version", "collectonly", "markers", "showfixtures",
                 "show_fixtures_per_test", "setupplan")


def sandbox_key(cohort: str, build_id: str, git_sha: str) -> tuple[str, str, str]:
    return cohort, build_id, git_sha


def start_early(config: pytest.Config) -> None:
    """Spawn the sandbox this run will use, when the options read so far say it will use
    the embedded one; never raises (the suite reports bad options in its own words)."""
    options = config.known_args_namespace
    if os.environ.get("PYTEST_XDIST_WORKER") or any(
            getattr(options, name, False) for name in _LISTING_ONLY):
        return
    target = getattr(options, "synthmon_target", None)
    explicit = getattr(options, "synthmon_policy", None)
    path = Path(explicit) if explicit else config.rootpath / "canary-policy.yaml"
    if not (explicit or target or path.is_file()):
        return  # not a synthmon run
    try:
        spec = resolve(target, load_policy(path))
    except (PolicyError, TargetError, OSError):
        return
    if spec.url is not None:
        return
    key = sandbox_key(getattr(options, "synthmon_cohort", None) or spec.cohort,
                      getattr(options, "synthmon_build_id", None) or "",
                      getattr(options, "synthmon_git_sha", None) or "")
    box = spawn_sandbox(cohort=key[0], build_id=key[1] or None, git_sha=key[2] or None)

    def stop() -> None:  # stopping twice is harmless: the suite stops what it took over
        box.stop()

    config.add_cleanup(stop)
    config.stash[_EARLY_KEY] = (key, box)


def take_early(config: pytest.Config, key: tuple[str, str, str]) -> SandboxProcess | None:
    """The sandbox started early for exactly these arguments, or None."""
    entry = config.stash.get(_EARLY_KEY, None)
    if entry is None or entry[0] != key:
        return None
    del config.stash[_EARLY_KEY]
    return entry[1]

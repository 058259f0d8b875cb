"""synthmon's pytest plugin (entry point `pytest11: synthmon`): options, hooks, registration.

This module holds only what pytest needs before configuration (the command-line options and
the hook specs) and the wiring in pytest_configure; the hooks and fixtures live in
synthmon.suite.hooks, telemetry and reports in synthmon.telemetry.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

# jsonschema's format checker imports rfc3987_syntax, which builds a parser at import: 1-3 s
# in every pytest process (controller and each xdist worker). It serves only the "iri" and
# "iri-reference" formats, which no schema here uses; without it jsonschema skips them.
sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]

import pytest  # noqa: E402

from synthmon.policy import Policy, PolicyError, load_policy  # noqa: E402
from synthmon.run_context import RUN_CONTEXT_KEY, WORKERINPUT_KEY, RunContext, new_run_id  # noqa: E402
from synthmon.suite import hookspecs  # noqa: E402
from synthmon.suite.targets import TargetError, TargetSpec, resolve  # noqa: E402

if TYPE_CHECKING:
    from synthmon.suite.client import ApiClient

SUITE_KEY = pytest.StashKey["SynthmonSuite"]()

# option dest -> (flag, environment variable, help)
_OPTIONS: dict[str, tuple[str, str, str]] = {
    "synthmon_target": ("--target", "SYNTH_TARGET",
                        "URL or a target named in canary-policy.yaml (--target=URL); "
                        "default: start the embedded sandbox on a free loopback port"),
    "synthmon_cohort": ("--cohort", "SYNTH_COHORT",
                        "canary or control (default: the target's cohort in the policy)"),
    "synthmon_region": ("--region", "SYNTH_REGION", "region tag of every sample (default local)"),
    "synthmon_device": ("--device", "SYNTH_DEVICE", "device tag of every sample (default desktop)"),
    "synthmon_build_id": ("--build-id", "SYNTH_BUILD_ID",
                          "build under test (default: what the target's /health reports)"),
    "synthmon_git_sha": ("--git-sha", "SYNTH_GIT_SHA",
                         "git sha under test (default: what the target's /health reports)"),
    "synthmon_expect_build": ("--expect-build", "SYNTH_EXPECT_BUILD",
                              "stop at once unless the target's /health reports this build_id"),
    "synthmon_reports_dir": ("--reports-dir", "SYNTH_REPORTS_DIR",
                             "where run reports go (default reports/); write it with '=': "
                             "--reports-dir=/tmp/x"),
    "synthmon_policy": ("--policy", "SYNTH_POLICY",
                        "canary-policy.yaml to use (default: the one at the rootdir); write "
                        "it with '=': --policy=FILE"),
}
# Options whose value may be an existing path. pytest picks its rootdir and ini file before
# entry-point plugins add their options, so in `--reports-dir /tmp/x` it takes /tmp/x for a
# test path: the rootdir moves there, pytest.ini (testpaths, markers, timeout) is not read and
# the wrong tests run. `--reports-dir=/tmp/x` is one token and cannot be mistaken.
_PATH_FLAGS = ("--target", "--reports-dir", "--policy")
_COHORTS = ("canary", "control")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("synthmon", "synthmon synthetic monitor")
    for dest, (flag, variable, help_text) in _OPTIONS.items():
        group.addoption(flag, dest=dest, default=os.environ.get(variable) or None,
                        metavar=flag.lstrip("-").upper().replace("-", "_"),
                        help=f"{help_text} [env {variable}]")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_configure(config: pytest.Config) -> None:
    from synthmon.suite.hooks import SynthmonSuite

    _refuse_a_moved_rootdir(config)
    policy, spec, policy_error = _resolve_target(config)
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and WORKERINPUT_KEY in workerinput:
        context = RunContext.from_dict(workerinput[WORKERINPUT_KEY])
    else:
        context = _new_context(config, spec)
    config.stash[RUN_CONTEXT_KEY] = context
    suite = SynthmonSuite(config, policy, spec, policy_error)
    config.stash[SUITE_KEY] = suite
    config.pluginmanager.register(suite, "synthmon-suite")

    # ---- TELEMETRY (issue 4): spans, metrics, reports, history ------------------------
    # Registered when synthmon.telemetry.plugin exists; TELEMETRY owns this block.
    try:
        from synthmon.telemetry.plugin import TelemetryPlugin  # type: ignore[import-not-found]
    except ModuleNotFoundError as exc:
        if exc.name not in ("synthmon.telemetry.plugin", "synthmon.telemetry"):
            raise
    else:
        config.pluginmanager.register(TelemetryPlugin(config), "synthmon-telemetry")
    # ---- end of TELEMETRY's block -----------------------------------------------------


# --- fixtures (module level: pytest deprecates session fixtures on plugin instances) -----
@pytest.fixture
def api(request: pytest.FixtureRequest) -> Iterator[ApiClient]:
    """The client a check uses: `api.get(path, expect=200, schema="...")`; see
    synthmon.suite.client.ApiClient."""
    from synthmon.suite.client import ApiClient

    client = ApiClient(request.config.stash[SUITE_KEY].core_or_fail())
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="session")
def api_session(request: pytest.FixtureRequest) -> ApiClient:
    """The same client for session-scoped fixtures (logins shared by many checks); its
    calls are recorded against the check that is running when they are made."""
    from synthmon.suite.client import ApiClient

    return ApiClient(request.config.stash[SUITE_KEY].core_or_fail())


@pytest.fixture(scope="session")
def run_context(request: pytest.FixtureRequest) -> RunContext:
    """Who runs what against which build (the controller's, on every xdist worker)."""
    return request.config.stash[RUN_CONTEXT_KEY]


def _refuse_a_moved_rootdir(config: pytest.Config) -> None:
    """Stop, in one sentence, a run whose rootdir moved because a path option was written
    with a space (see _PATH_FLAGS): it would otherwise run whatever lies under the new
    rootdir without the suite's pytest.ini. pytest's order cannot be changed from a plugin."""
    if hasattr(config, "workerinput"):  # xdist workers get the controller's rootdir
        return
    args = [str(a) for a in config.invocation_params.args]
    spaced = [(flag, args[i + 1]) for i, flag in enumerate(args[:-1]) if flag in _PATH_FLAGS]
    invocation = Path(config.invocation_params.dir)
    suite_ini = next((d / "pytest.ini" for d in (invocation, *invocation.parents)
                      if (d / "pytest.ini").is_file()), None)
    for flag, value in spaced:
        path = Path(value) if Path(value).is_absolute() else invocation / value
        if suite_ini is None or not path.exists() or config.inipath == suite_ini:
            continue
        raise pytest.UsageError(
            f"{flag} {value}: pytest read {value} as a test path before synthmon's options "
            f"were known, so it used the rootdir {config.rootpath} and "
            f"{config.inipath or 'no ini file'} instead of {suite_ini}; write "
            f"{flag}={value} (with '=')")


def _resolve_target(
    config: pytest.Config,
) -> tuple[Policy | None, TargetSpec | None, str | None]:
    """Load the policy and resolve --target. A run that names a target must have a usable
    policy (usage error); a run that names nothing stays quiet until a check needs one, so
    an unrelated pytest run in an environment with synthmon installed is not disturbed."""
    explicit = config.getoption("synthmon_policy")
    path = Path(explicit) if explicit else config.rootpath / "canary-policy.yaml"
    try:
        policy = load_policy(path)
        return policy, resolve(config.getoption("synthmon_target"), policy), None
    except (PolicyError, TargetError) as exc:
        if config.getoption("synthmon_target") or explicit:
            raise pytest.UsageError(str(exc)) from exc
        return None, None, str(exc)


def _new_context(config: pytest.Config, spec: TargetSpec | None) -> RunContext:
    cohort = config.getoption("synthmon_cohort") or (spec.cohort if spec else "control")
    if cohort not in _COHORTS:
        raise pytest.UsageError(f"--cohort {cohort}: must be one of {', '.join(_COHORTS)}")
    return RunContext(
        run_id=new_run_id(),
        target=(spec.url or "embedded") if spec else "",
        target_name=spec.name if spec else "",
        cohort=cohort,
        region=config.getoption("synthmon_region") or "local",
        device=config.getoption("synthmon_device") or "desktop",
        build_id=config.getoption("synthmon_build_id") or "",
        git_sha=config.getoption("synthmon_git_sha") or "",
        environment=spec.environment if spec else "",
        started_at=time.time(),
    )

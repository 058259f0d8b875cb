"""synthmon's pytest plugin (entry point `pytest11: synthmon`): options and registration.

Three plugins sit side by side, as in pytest-opentelemetry, and meet only through the sample
hook (`pytest_synthmon_sample_recorded`), the run context and stash keys
(synthmon.run_context): the suite (synthmon.suite.hooks: target, run context, api client,
samples, flaky checks), the reports (synthmon.reports.plugin: summary.json, junit.xml,
Allure, history, the end-of-run summary) and telemetry (synthmon.telemetry.plugin: spans
and metrics). None drives another.

pytest loads this module for every project in the environment; a run that is not a
synthmon suite (no canary-policy.yaml at its rootdir, no --target or --policy) gets the
options in --help and nothing else: no import of the suite, no reports, no telemetry.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from synthmon.run_context import RUN_CONTEXT_KEY
from synthmon.suite import hookspecs

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
    "synthmon_ca_bundle": ("--ca-bundle", "SYNTH_CA_BUNDLE",
                           "PEM file of the certificate authorities to trust for an https "
                           "target (default: REQUESTS_CA_BUNDLE, else the public roots); "
                           "write it with '=': --ca-bundle=FILE"),
}
# Options whose value may be an existing path. pytest picks its rootdir and ini file before
# entry-point plugins add their options, so in `--reports-dir /tmp/x` it takes /tmp/x for a
# test path: the rootdir moves there, pytest.ini (testpaths, markers, timeout) is not read and
# the wrong tests run. `--reports-dir=/tmp/x` is one token and cannot be mistaken.
_PATH_FLAGS = ("--target", "--reports-dir", "--policy", "--ca-bundle")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("synthmon", "synthmon synthetic monitor")
    for dest, (flag, variable, help_text) in _OPTIONS.items():
        group.addoption(flag, dest=dest, default=os.environ.get(variable) or None,
                        metavar=flag.lstrip("-").upper().replace("-", "_"),
                        help=f"{help_text} [env {variable}]")


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config) -> None:
    """The embedded sandbox boots while pytest imports conftest.py and configures (the suite
    takes it over), and the collector's last clean-up is registered (suite/garbage.py); only
    for runs of the synthmon suite, see _is_a_synthmon_run."""
    namespace = early_config.known_args_namespace
    if namespace.synthmon_target or namespace.synthmon_policy or (
            early_config.rootpath / "canary-policy.yaml").is_file():
        from synthmon.suite import garbage
        from synthmon.suite.early_sandbox import start_early

        garbage.unfreeze_after_the_run(early_config)
        start_early(early_config)


@pytest.hookimpl(trylast=True)  # after the terminal reporter: the probe may fail or be interrupted
def pytest_configure(config: pytest.Config) -> None:
    _refuse_a_moved_rootdir(config)
    if not _is_a_synthmon_run(config):
        return
    from synthmon.browser import plugin as browser
    from synthmon.reports.plugin import ReportsPlugin
    from synthmon.suite import fixtures, garbage
    from synthmon.suite.hooks import SUITE_KEY, SynthmonSuite
    from synthmon.suite.run_latency import RunLatencyRule
    from synthmon.suite.run_latency_plugin import RunLatencyPlugin
    from synthmon.telemetry.plugin import TelemetryPlugin

    manager = config.pluginmanager
    # pytest calls a plugin's pytest_configure as it is registered: the suite decides the
    # run's context first, then the reports place the run's folder, which telemetry uses.
    manager.register(SynthmonSuite(config), "synthmon-suite")
    manager.register(fixtures, "synthmon-fixtures")
    manager.register(garbage, "synthmon-garbage")
    if RUN_CONTEXT_KEY not in config.stash:  # the suite is blocked (-p no:synthmon-suite)
        return
    manager.register(ReportsPlugin(config), "synthmon-reports")
    manager.register(TelemetryPlugin(config), "synthmon-telemetry")
    policy = config.stash[SUITE_KEY].policy
    if policy is not None:
        manager.register(RunLatencyPlugin(config, RunLatencyRule.from_policy(policy)),
                         "synthmon-run-latency")
    # the browser checks' fixtures and hooks (Playwright is imported only when one runs)
    manager.register(browser, "synthmon-browser")


def _is_a_synthmon_run(config: pytest.Config) -> bool:
    """A run that names a target or a policy, or whose rootdir holds canary-policy.yaml."""
    return bool(config.getoption("synthmon_target") or config.getoption("synthmon_policy")
                or (config.rootpath / "canary-policy.yaml").is_file())


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

"""The synthetic suite's hooks, registered by synthmon.plugin in pytest_configure.

One SynthmonSuite per pytest process. In its pytest_configure (before any other plugin of
the run reads it) it decides the run's context (synthmon.suite.context): the xdist
controller, or the only process, starts the embedded sandbox when no target is given,
probes the target once and hands its decision to every worker through `workerinput`. The
sandbox is stopped at unconfigure, which pytest reaches on Ctrl-C too.

Per check it tracks which check is running (the api client names its calls after it),
hands every Sample to the sample hook and to the test report, and decides which checks are
flaky: passed, but a call answered only after a retry.
"""

from __future__ import annotations

import signal
from collections.abc import Generator
from dataclasses import replace
from typing import Any

import pytest

from synthmon.check_ids import short_check_id
from synthmon.outcomes import FLAKY_PROPERTY
from synthmon.policy import Policy, PolicyError
from synthmon.privacy import register_environment_secrets
from synthmon.run_context import (
    RUN_ABORT_KEY,
    RUN_CONTEXT_KEY,
    TARGET_UNREACHABLE,
    RunAbort,
    RunContext,
)
from synthmon.samples import NO_ANSWER, SAMPLE_PROPERTY, Sample
from synthmon.samples import WRONG_BUILD as WRONG_BUILD_CALL
from synthmon.sandbox_process import SandboxProcess, SandboxStartError, spawn_sandbox
from synthmon.suite.budgets import Budgets
from synthmon.suite.client import ClientCore, ClientSettings, TargetDown
from synthmon.suite.context import (
    RunStart,
    given_context,
    load_policy_and_target,
    probe,
)
from synthmon.suite.early_sandbox import sandbox_key, take_early
from synthmon.suite.exchange import Exchange
from synthmon.suite.interrupts import InterruptWatch
from synthmon.suite.leaks import LeakDetector
from synthmon.suite.messages import TLS_FAILED
from synthmon.suite.schemas import SchemaStore
from synthmon.suite.trust import TrustError, ca_bundle
from synthmon.targets import TargetError, TargetSpec

SUITE_KEY = pytest.StashKey["SynthmonSuite"]()
_SAMPLES_KEY = pytest.StashKey[list[Sample]]()


def runs_checks(config: pytest.Config) -> bool:
    """False for the runs that only list or explain (--help, --collect-only, --fixtures,
    --markers, --setup-plan): they need no target, so none is started or asked."""
    option = config.option
    return not any(getattr(option, name, False) for name in (
        "help", "collectonly", "markers", "showfixtures", "show_fixtures_per_test",
        "setupplan"))


class SynthmonSuite:
    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        self.workerinput = workerinput
        self.worker = workerinput.get("workerid", "main") if workerinput else "main"
        self.expect_build: str = config.getoption("synthmon_expect_build") or ""
        self.policy: Policy | None = None
        self.spec: TargetSpec | None = None
        self.settings: ClientSettings | None = None
        self.ca_bundle: str | None = None  # None: the public roots (suite/trust.py)
        self.start: RunStart | None = None
        self.sandbox: SandboxProcess | None = None
        self._given: RunContext | None = None
        self._core: ClientCore | None = None
        self._current: pytest.Item | None = None
        self._short_ids: dict[str, str] = {}
        self._probing = False
        self._probe_samples: list[Sample] = []
        # id of a set-up error -> (the error, kept alive so the id stays its; the check it
        # was first raised for)
        self._setup_errors: dict[int, tuple[BaseException, str]] = {}
        self.interrupts = InterruptWatch(config)
        config.stash[SUITE_KEY] = self

    # --- the run's context, decided once ------------------------------------------------
    def pytest_configure(self, config: pytest.Config) -> None:
        register_environment_secrets()
        self.policy, self.spec = load_policy_and_target(config)
        try:
            self.settings = ClientSettings.from_policy(self.policy)
            self.ca_bundle = ca_bundle(config.getoption("synthmon_ca_bundle"))
        except (PolicyError, TrustError) as exc:
            raise pytest.UsageError(str(exc)) from exc
        if self.workerinput is not None:
            self.start = RunStart.from_workerinput(self.workerinput)
        else:
            self.interrupts.install()
            self.start = self._decide(given_context(config, self.spec))
            if self.start.abort is not None:
                config.stash[RUN_ABORT_KEY] = self.start.abort
        config.stash[RUN_CONTEXT_KEY] = self.start.context

    @property
    def context(self) -> RunContext:
        return self.config.stash[RUN_CONTEXT_KEY]

    def _decide(self, given: RunContext) -> RunStart:
        assert self.spec is not None
        if not runs_checks(self.config):
            return RunStart(given)
        try:
            url = self.spec.url or self._start_sandbox(given)
        except TargetError as exc:
            return RunStart(given, RunAbort(TARGET_UNREACHABLE, str(exc)))
        self._given = replace(given, target=url)
        label = url if self.spec.url else f"{url} (embedded sandbox)"
        self._probing = True
        try:
            start = probe(self.core, self._given, label, self.expect_build)
        finally:
            self._probing = False
        if start.abort is not None and start.abort.outcome == TARGET_UNREACHABLE:
            if TLS_FAILED in start.abort.reason:
                # it answers, over a certificate the client refuses: the checks run, each
                # says so, and the certificate check says what is wrong with it
                return RunStart(start.context)
            # the unanswered probe is the evidence: the gate and the monitor count it
            return replace(start, abort=replace(start.abort, samples=tuple(self._probe_samples)))
        return start

    def _start_sandbox(self, given: RunContext) -> str:
        key = sandbox_key(given.cohort, given.build_id, given.git_sha)
        self.sandbox = take_early(self.config, key) or spawn_sandbox(
            cohort=key[0], build_id=key[1] or None, git_sha=key[2] or None)
        try:
            return self.sandbox.wait_ready().url
        except SandboxStartError as exc:
            raise TargetError(f"the embedded sandbox did not start: {exc}") from exc

    def _context_of_calls(self) -> RunContext:
        # The probe's own call comes before the decision: it carries what the options say.
        decided = self.config.stash.get(RUN_CONTEXT_KEY, None)
        if decided is not None:
            return decided
        assert self._given is not None
        return self._given

    def _base_url(self) -> str:
        if self.start is not None and self.start.abort is not None:
            # what a call that was not sent records: a wrong build, or a target down
            abort = self.start.abort
            raise TargetDown(abort.reason, NO_ANSWER if abort.outcome == TARGET_UNREACHABLE
                             else WRONG_BUILD_CALL)
        return self._context_of_calls().target

    # --- the client's per-process part ------------------------------------------------------
    @property
    def core(self) -> ClientCore:
        if self._core is None:
            assert self.policy is not None and self.settings is not None
            self._core = ClientCore(
                base_url=self._base_url,
                settings=self.settings,
                schemas=SchemaStore(self.config.rootpath / "schemas",
                                    LeakDetector.from_policy(self.policy)),
                budgets=Budgets(self.policy),
                run_context=self._context_of_calls,
                current_check=self._current_check,
                record=self.record,
                ca_bundle=self.ca_bundle,
            )
        return self._core

    def _current_check(self) -> tuple[str, str]:
        """(check node id, the check's part of the synthetic id). Calls that belong to no
        check (the probe of the target) are numbered per process under `<worker>.session`,
        so ids never collide."""
        item = self._current
        if item is None:
            return "synthmon", f"{self.worker}.session"
        short = self._short_ids.get(item.nodeid)
        if short is None:
            short = self._short_ids[item.nodeid] = short_check_id(item)
        return item.nodeid, short

    def record(self, sample: Sample, exchange: Exchange | None = None) -> None:
        """Hand a sample of the running check to its report and to the sample hook: the api
        client's calls, and the browser checks' steps and Web Vitals alike."""
        item = self._current
        if item is None:
            if self._probing:
                self._probe_samples.append(sample)
            return
        item.stash.setdefault(_SAMPLES_KEY, []).append(sample)
        item.user_properties.append((SAMPLE_PROPERTY, sample.to_dict()))
        self.config.hook.pytest_synthmon_sample_recorded(sample=sample, item=item,
                                                         exchange=exchange)

    # --- xdist: the controller's decision goes to every worker ----------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        assert self.start is not None
        node.workerinput.update(self.start.to_workerinput())

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        """A run whose target is down or serves the wrong build ends here, before its first
        check: the reports say why in one sentence (no failure per check)."""
        abort = self.start.abort if self.start is not None else None
        if abort is not None and self.workerinput is None:
            raise session.Failed(abort.reason)

    @pytest.hookimpl(tryfirst=True, optionalhook=True)
    def pytest_timeout_set_timer(self, item: pytest.Item, settings: Any) -> bool | None:
        return self.interrupts.set_timer(item, settings)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.interrupts.finished.set()
        # No check calls the target any more. The suite's own sandbox keeps nothing (its
        # temporary workdir, logs included, goes when it stops), so it is killed rather than
        # asked: a graceful uvicorn shutdown took 0.1-0.2 s, which every run waited for in
        # unconfigure.
        if self.sandbox is not None:
            self.sandbox.terminate(signal.SIGKILL)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        self.interrupts.restore()
        if self._core is not None:
            self._core.session.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    # --- per check ----------------------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        self._current = item
        try:
            return (yield)
        finally:
            self._current = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield
        if report.when == "setup" and report.failed and call.excinfo is not None:
            self._name_the_check_of_a_shared_setup_error(item, report, call.excinfo.value)
        # Each sample travels in the report of the phase that made it, exactly once, so a
        # consumer of pytest_runtest_logreport may simply sum them up.
        if any(name == SAMPLE_PROPERTY for name, _ in item.user_properties):
            item.user_properties[:] = [p for p in item.user_properties if p[0] != SAMPLE_PROPERTY]
        if report.when == "call" and report.passed:
            retried = [s for s in item.stash.get(_SAMPLES_KEY, []) if s.attempts > 1]
            if retried:
                report.user_properties.append((FLAKY_PROPERTY, "; ".join(
                    f"{s.endpoint} answered {s.status} only after {s.attempts} attempts "
                    f"[synthetic id {s.synthetic_id}]" for s in retried)))
        return report

    def _name_the_check_of_a_shared_setup_error(self, item: pytest.Item,
                                                 report: pytest.TestReport,
                                                 error: BaseException) -> None:
        """pytest raises a session fixture's error again for every check that asks for the
        fixture afterwards, so "ERROR at setup of test_b" would go on with the sentence (and
        synthetic ids) of test_a, which set the fixture up first. Say so."""
        first = self._setup_errors.setdefault(id(error), (error, item.nodeid))[1]
        if first != item.nodeid:
            report.longrepr = (f"{item.nodeid}: set-up failed in a fixture it shares with "
                               f"{first}, where it failed first (the ids below are that "
                               f"check's):\n{report.longrepr}")

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        if report.when == "call" and report.passed and any(
                name == FLAKY_PROPERTY for name, _ in report.user_properties):
            return "flaky", "K", ("FLAKY", {"yellow": True})
        return None

    def pytest_report_header(self, config: pytest.Config) -> str:
        context = self.context
        return (f"synthmon: run {context.run_id}, target {context.target}, cohort "
                f"{context.cohort}, region {context.region}, device {context.device}")

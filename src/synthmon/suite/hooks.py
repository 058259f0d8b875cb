"""The synthetic suite's hooks and fixtures, registered by synthmon.plugin in pytest_configure.

One SynthmonSuite per pytest process. On the xdist controller (or a run without xdist) it
makes the RunContext; workers take theirs from `workerinput`. It owns the target: the
embedded sandbox is started by whichever process first needs a target (the controller, for
its workers, when it spawns them), probed once per process (`GET /health`: reachable? the
expected build?), and stopped at unconfigure, which pytest reaches on Ctrl-C too.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from synthmon.policy import Policy, PolicyError
from synthmon.run_context import RUN_CONTEXT_KEY, WORKERINPUT_KEY, RunContext
from synthmon.samples import SAMPLE_PROPERTY, Sample
from synthmon.suite.budgets import Budgets
from synthmon.suite.client import ApiClient, ClientCore, ClientSettings, TargetDown
from synthmon.suite.exchange import Exchange
from synthmon.suite.schemas import SchemaStore
from synthmon.suite.targets import (
    EmbeddedSandbox,
    TargetError,
    TargetSpec,
    pid_alive,
    wait_for_ready_file,
)

TARGET_WORKERINPUT_KEY = "synthmon_target"
FLAKY_PROPERTY = "synthmon.flaky"
_SAMPLES_KEY = pytest.StashKey[list[Sample]]()
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def short_check_id(item: pytest.Item) -> str:
    """tests/synthetic/test_auth.py::test_refresh[x] -> auth-refresh-x (header- and log-safe)."""
    module = item.path.stem.removeprefix("test_") if hasattr(item, "path") else "check"
    name = item.name.removeprefix("test_")
    short = _UNSAFE.sub("-", f"{module}-{name}").strip("-")
    if len(short) <= 60:
        return short
    # two parametrizations may differ only past the cut: keep ids unique with a digest
    return f"{short[:51]}-{hashlib.sha256(item.nodeid.encode()).hexdigest()[:8]}"


class SynthmonSuite:
    def __init__(self, config: pytest.Config, policy: Policy | None, spec: TargetSpec | None,
                 policy_error: str | None) -> None:
        self.config = config
        self.policy = policy
        self.spec = spec
        self.policy_error = policy_error
        self.expect_build: str = config.getoption("synthmon_expect_build") or ""
        self.sandbox: EmbeddedSandbox | None = None
        self.handoff: dict[str, Any] | None = getattr(config, "workerinput", {}).get(
            TARGET_WORKERINPUT_KEY)
        self._url: str | None = None
        self._target_error: str | None = None
        self._core: ClientCore | None = None
        self._current: pytest.Item | None = None
        self._short_ids: dict[str, str] = {}
        self._probing = False
        self._worker: str = getattr(config, "workerinput", {}).get("workerid", "main")
        # what the controller (or the only process) saw, for the terminal summary
        self.calls = 0
        self.degraded: list[str] = []
        self.flaky: list[str] = []

    # --- the run context ------------------------------------------------------------
    @property
    def context(self) -> RunContext:
        return self.config.stash[RUN_CONTEXT_KEY]

    def _update_context(self, **changes: Any) -> None:
        self.config.stash[RUN_CONTEXT_KEY] = dataclasses.replace(self.context, **changes)

    # --- the target -----------------------------------------------------------------
    def _sandbox_args(self) -> list[str]:
        args = ["--cohort", self.context.cohort]
        flags = (("synthmon_build_id", "--build-id"), ("synthmon_git_sha", "--git-sha"))
        for option, flag in flags:
            value = self.config.getoption(option)
            if value:
                args += [flag, value]
        return args

    def _own_sandbox(self) -> EmbeddedSandbox:
        if self.sandbox is None:
            self.sandbox = EmbeddedSandbox(self._sandbox_args())
            self.sandbox.start()
        return self.sandbox

    def target_url(self) -> str:
        """The base URL, starting or waiting for the sandbox and probing it on first use."""
        if self._url is not None:
            return self._url
        if self._target_error is not None:
            raise TargetDown(self._target_error)
        try:
            if self.policy_error is not None:
                raise TargetError(self.policy_error)
            assert self.spec is not None
            if self.spec.url is not None:
                url = self.spec.url
            elif self.handoff is not None:  # an xdist worker: the controller started it
                handoff = self.handoff
                url = wait_for_ready_file(
                    Path(handoff["ready_file"]), lambda: pid_alive(int(handoff["pid"])),
                    Path(handoff["log_file"]))
            else:
                url = self._own_sandbox().wait_ready()
        except TargetError as exc:
            self._target_error = str(exc)
            raise TargetDown(self._target_error) from exc
        self._url = url
        self._update_context(target=url)
        self._probe()
        return url

    def _probe(self) -> None:
        """GET /health once: a target that does not answer is down for the whole run (the
        checks then fail at once instead of each waiting out its timeouts), and a target
        serving another build than --expect-build stops the run: a gate must never compare
        canary with canary because of mis-routing."""
        client = ApiClient(self.core)
        reported: dict[str, Any] = {}

        def learn(status: int, content: bytes) -> None:
            # before the probe's own span and sample are finished, so they carry the build
            if status == 200:
                try:
                    body = json.loads(content)
                except ValueError:
                    body = None
                if isinstance(body, dict):
                    reported.update(body)
            context = self.context
            self._update_context(build_id=context.build_id or str(reported.get("build_id") or ""),
                                 git_sha=context.git_sha or str(reported.get("git_sha") or ""))

        self._probing = True
        try:
            response = client.request("GET", "/health", expect=200, checked=False, learn=learn)
        except TargetDown as exc:
            self._url = None
            self._target_error = f"the target {self.spec_label} is down: {exc}"
            raise TargetDown(self._target_error) from exc
        finally:
            self._probing = False
        build_id = str(reported.get("build_id") or "")
        if self.expect_build and build_id != self.expect_build:
            seen = (f"reports build {build_id!r}" if build_id else
                    f"did not report a build (GET /health answered {response.status_code})")
            self._url = None
            self._target_error = (
                f"the target {self.spec_label} {seen}, but --expect-build is "
                f"{self.expect_build!r}: stopping rather than measuring the wrong build "
                f"[synthetic id {response.synthetic_id}]")
            self.config.stash.setdefault(_STOP_KEY, self._target_error)
            raise TargetDown(self._target_error)

    @property
    def spec_label(self) -> str:
        if self.spec is None:
            return "?"
        return self._url or self.spec.url or f"{self.spec.name} (embedded sandbox)"

    @property
    def core(self) -> ClientCore:
        if self._core is None:
            if self.policy is None:
                raise TargetDown(self.policy_error or "no policy")
            try:
                settings = ClientSettings.from_policy(self.policy)
            except PolicyError as exc:
                raise TargetDown(str(exc)) from exc
            self._core = ClientCore(
                base_url=self.target_url,
                settings=settings,
                schemas=SchemaStore(self.config.rootpath / "schemas"),
                budgets=Budgets(self.policy),
                run_context=lambda: self.config.stash[RUN_CONTEXT_KEY],
                current_check=self._current_check,
                record=self._record,
            )
        return self._core

    def _current_check(self) -> tuple[str, str]:
        """(check node id, the check's part of the synthetic id). Calls that belong to no
        check, and the probe of the target, are numbered per process under
        `<worker>.session`: each xdist worker probes once, and ids must never collide."""
        item = self._current
        if item is None or self._probing:
            return (item.nodeid if item else "synthmon"), f"{self._worker}.session"
        short = self._short_ids.get(item.nodeid)
        if short is None:
            short = self._short_ids[item.nodeid] = short_check_id(item)
        return item.nodeid, short

    def _record(self, sample: Sample, exchange: Exchange | None) -> None:
        item = self._current
        if item is None:
            return
        item.stash.setdefault(_SAMPLES_KEY, []).append(sample)
        item.user_properties.append((SAMPLE_PROPERTY, sample.to_dict()))
        self.config.hook.pytest_synthmon_sample_recorded(sample=sample, item=item,
                                                         exchange=exchange)

    # --- xdist: the controller starts the sandbox once and hands it to every worker ----
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput[WORKERINPUT_KEY] = self.context.to_dict()
        if self.spec is not None and self.spec.url is None and self.policy_error is None:
            # started now, without waiting: the workers wait for it while they boot
            node.workerinput[TARGET_WORKERINPUT_KEY] = self._own_sandbox().handoff()

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._core is not None:
            self._core.session.close()
        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox = None

    # --- per test -------------------------------------------------------------------------
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
        stop = item.config.stash.get(_STOP_KEY, None)
        if stop and not item.session.shouldstop:
            item.session.shouldstop = stop
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_report_teststatus(self, report: pytest.TestReport) -> Any:
        if report.when == "call" and report.passed and any(
                name == FLAKY_PROPERTY for name, _ in report.user_properties):
            return "flaky", "K", ("FLAKY", {"yellow": True})
        return None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if hasattr(self.config, "workerinput"):
            return
        for name, value in report.user_properties:
            if name == SAMPLE_PROPERTY:
                self.calls += 1
                if value.get("budget_verdict") == "degraded":
                    self.degraded.append(
                        f"{value['method']} {value['route']} {value['total_ms']:.0f} ms "
                        f"> {value['budget_ms']:.0f} ms [{value['synthetic_id']}]")
                self._learn(value)
            elif name == FLAKY_PROPERTY:
                self.flaky.append(f"{report.nodeid}: {value}")

    def _learn(self, sample: dict[str, Any]) -> None:
        """The controller learns the target URL and build from its workers' samples."""
        context = self.context
        changes = {k: sample[k] for k in ("target", "build_id", "git_sha")
                   if sample.get(k) and getattr(context, k) in ("", "embedded")}
        if changes:
            self._update_context(**changes)

    def pytest_report_header(self, config: pytest.Config) -> str:
        context = self.context
        where = self.spec_label if self.policy_error is None else f"unusable ({self.policy_error})"
        return (f"synthmon: run {context.run_id}, target {where}, cohort {context.cohort}, "
                f"region {context.region}, device {context.device}")

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if hasattr(self.config, "workerinput") or not self.calls:
            return
        write = terminalreporter.write_line
        context = self.context
        terminalreporter.section("synthmon", sep="-")
        write(f"run {context.run_id}: {self.calls} calls to {context.target}, build "
              f"{context.build_id or '?'}, {len(self.degraded)} over budget (degraded), "
              f"{len(self.flaky)} flaky")
        for line in self.degraded[:10]:
            write(f"  degraded: {line}")
        for line in self.flaky:
            write(f"  flaky: {line}")

    def core_or_fail(self) -> ClientCore:
        try:
            return self.core
        except TargetDown as exc:
            pytest.fail(str(exc), pytrace=False)


_STOP_KEY = pytest.StashKey[str]()

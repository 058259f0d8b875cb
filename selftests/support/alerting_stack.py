"""The whole alerting path on loopback, with real engines: one sandbox; one `synthmon monitor`
per region at a short interval (one of them through a forward proxy the test can make drop
every connection); Prometheus scraping the monitors every second and evaluating the rules
`synthmon rules --time-scale` wrote; Alertmanager with the configuration `synthmon
alertmanager` wrote, delivering to a webhook receiver inside the test.

The policy is the shipped one with its weekly maintenance window removed, so that the test
does not depend on the day and hour it runs at. Everything is bounded: every wait has a
deadline, every process is stopped when the with-block ends.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

from support.engines import free_port, query, running_alertmanager, running_prometheus
from support.receivers import ForwardProxy, Inbox, webhook_receiver
from synthmon import durations
from synthmon.alerting.settings import read_alerting
from synthmon.policy import load_policy
from synthmon.sandbox_process import SandboxProcess, start_sandbox, stop_process

REPO = Path(__file__).resolve().parents[2]
WHAT = "the alerting end-to-end test"
ROUTING_KEY = "e2e-oncall-routing-key"
# b2c: the student flow (critical) and a negative check beside it (not critical). Small and
# fast, and what the scenarios break.
SELECTION = ("-m", "b2c and not browser")  # the API flow: its calls are what the rules read
FLOW = "tests/synthetic/test_b2c.py::test_student_searches_saves_and_drafts_an_application"


@dataclass
class MonitorProcess:
    region: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    started: float  # time.time() at its start
    env: dict[str, str] = field(default_factory=dict)  # set on top of the test's environment

    @property
    def metrics(self) -> str:
        return f"127.0.0.1:{self.port}"

    def events(self) -> list[dict[str, Any]]:
        lines = self.log.read_text(errors="replace").splitlines()
        return [json.loads(line) for line in lines if line.startswith("{")]


@dataclass
class Stack:
    workdir: Path
    interval: float
    policy: Path
    sandbox: SandboxProcess
    prometheus: str
    alertmanager: str
    inbox: Inbox
    proxy: ForwardProxy
    proxied: str  # the region whose monitor goes through the proxy
    regions: tuple[str, ...]
    monitors: dict[str, MonitorProcess] = field(default_factory=dict)
    _sandbox_args: dict[str, Any] = field(default_factory=dict)

    # -- monitors ----------------------------------------------------------------------
    def start_monitor(self, region: str, port: int | None = None,
                      env: dict[str, str] | None = None) -> MonitorProcess:
        port = port or free_port()
        folder = self.workdir / f"monitor-{region}-{int(time.time() * 1000)}"
        folder.mkdir(parents=True)
        extra = dict(env or {})
        if region == self.proxied:
            # every call of this region's suite through the proxy; nothing bypasses it
            extra |= {"HTTP_PROXY": self.proxy.url, "http_proxy": self.proxy.url,
                      "NO_PROXY": "", "no_proxy": ""}
        log = folder / "monitor.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "synthmon.cli", "monitor", "--target", self.sandbox.url,
                 "--region", region, "--interval", f"{self.interval:g}", "--retries", "1",
                 "--retry-base", "0.2", "--metrics-port", str(port),
                 f"--reports-dir={folder / 'runs'}", "--", *SELECTION],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=out, stdin=subprocess.DEVNULL,
                env={**os.environ, **extra}, start_new_session=True)
        monitor = MonitorProcess(region, port, proc, log, time.time(), dict(env or {}))
        self.monitors[region] = monitor
        return monitor

    def kill_monitor(self, region: str) -> None:
        """SIGKILL: a monitor that dies without a word, as on an OOM kill."""
        stop_process(self.monitors[region].proc, signal.SIGKILL)

    def restart_monitor(self, region: str, env: dict[str, str] | None = None) -> None:
        old = self.monitors[region]
        stop_process(old.proc)
        self.start_monitor(region, old.port, env)  # the port Prometheus scrapes

    # -- the target --------------------------------------------------------------------
    def stop_sandbox(self) -> None:
        self.sandbox.stop()

    def restart_sandbox(self) -> None:
        port = self.sandbox.url.rsplit(":", 1)[1]
        self.sandbox = start_sandbox(self.workdir / "sandbox-again", "--port", port,
                                     **self._sandbox_args)

    # -- what the engines know ---------------------------------------------------------
    def query(self, promql: str) -> list[dict[str, Any]]:
        return query(self.prometheus, promql)

    def regions_where(self, promql: str) -> set[str]:
        return {r["metric"].get("region", "") for r in self.query(promql)}

    def wait_until(self, what: str, holds: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not holds():
            for monitor in self.monitors.values():
                if monitor.proc.poll() is not None and monitor.proc.returncode not in (
                        -signal.SIGKILL, 0, 1):
                    raise AssertionError(f"the {monitor.region} monitor exited "
                                         f"({monitor.proc.returncode}): "
                                         f"{monitor.log.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
            time.sleep(0.5)

    def alertmanager_alerts(self, **params: str) -> list[dict[str, Any]]:
        answer = requests.get(f"{self.alertmanager}/api/v2/alerts", params=params, timeout=5)
        answer.raise_for_status()
        found: list[dict[str, Any]] = answer.json()
        return found

    def silence(self, matchers: dict[str, str], seconds: float, comment: str) -> str:
        now = time.time()
        body = {"matchers": [{"name": k, "value": v, "isRegex": False, "isEqual": True}
                             for k, v in matchers.items()],
                "startsAt": _iso(now), "endsAt": _iso(now + seconds),
                "createdBy": "alerting e2e", "comment": comment}
        answer = requests.post(f"{self.alertmanager}/api/v2/silences", json=body, timeout=5)
        answer.raise_for_status()
        return str(answer.json()["silenceID"])

    def end_silence_in(self, silence_id: str, seconds: float) -> str:
        """Move the silence's end close: it then expires by itself (Alertmanager updates an
        active silence in place when only its end moves)."""
        current = requests.get(f"{self.alertmanager}/api/v2/silence/{silence_id}", timeout=5)
        current.raise_for_status()
        body = current.json()
        body["endsAt"] = _iso(time.time() + seconds)
        body = {k: body[k] for k in ("id", "matchers", "startsAt", "endsAt", "createdBy",
                                     "comment")}
        answer = requests.post(f"{self.alertmanager}/api/v2/silences", json=body, timeout=5)
        answer.raise_for_status()
        return str(answer.json()["silenceID"])


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{int(ts % 1 * 1000):03d}Z"


def policy_without_maintenance(workdir: Path) -> Path:
    data = yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))
    data["alerting"]["maintenance_windows"] = []
    data["alerting"]["gate"]["expected"] = False  # this stack runs no gate serve
    path = workdir / "canary-policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    (workdir / "schemas").mkdir(exist_ok=True)
    schema = REPO / "schemas" / "canary-policy.schema.json"
    (workdir / "schemas" / schema.name).write_text(schema.read_text(encoding="utf-8"))
    return path


def synthmon(*args: str, env: dict[str, str] | None = None) -> None:
    done = subprocess.run([sys.executable, "-m", "synthmon.cli", *args], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=False,
                          env={**os.environ, **(env or {})})
    if done.returncode != 0:
        raise RuntimeError(f"synthmon {args[0]} failed: {done.stderr[-2000:]}")


@contextlib.contextmanager
def alerting_stack(workdir: Path, interval: float = 5.0, group_wait: str = "4s",
                   group_interval: str = "2s") -> Iterator[Stack]:
    workdir.mkdir(parents=True, exist_ok=True)
    policy = policy_without_maintenance(workdir)
    settings = read_alerting(load_policy(policy))
    regions = settings.monitor.regions
    scale = interval / settings.monitor.interval_s
    rules = workdir / "rules.yml"
    synthmon("rules", f"--policy={policy}", f"--time-scale={scale:g}", f"--out={rules}")
    with contextlib.ExitStack() as stack:
        base, inbox = stack.enter_context(webhook_receiver())
        config = workdir / "alertmanager.yml"
        synthmon("alertmanager", f"--policy={policy}", f"--out={config}",
                 *(arg for name in settings.receivers
                   for arg in ("--receiver", f"{name}={base}/{name}")),
                 "--group-wait", group_wait, "--group-interval", group_interval,
                 "--repeat-interval", "1h", env={"SYNTH_PAGERDUTY_ROUTING_KEY": ROUTING_KEY})
        alertmanager = stack.enter_context(running_alertmanager(workdir / "am", config, WHAT))
        sandbox_args: dict[str, Any] = {"access_log": workdir / "access.log"}
        sandbox = start_sandbox(workdir / "sandbox", **sandbox_args)
        proxy = stack.enter_context(ForwardProxy())
        ports = {region: free_port() for region in regions}
        scrape = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s",
                       "scrape_timeout": "900ms"},
            "rule_files": [str(rules)],
            "alerting": {"alertmanagers": [{"static_configs": [
                {"targets": [alertmanager.split("://", 1)[1]]}]}]},
            "scrape_configs": [{"job_name": "synthmon-monitor", "static_configs": [
                {"targets": [f"127.0.0.1:{port}" for port in ports.values()]}]}],
        }
        prometheus = stack.enter_context(running_prometheus(workdir / "prom", scrape, WHAT))
        s = Stack(workdir, interval, policy, sandbox, prometheus, alertmanager, inbox, proxy,
                  proxied=regions[-1], regions=regions, _sandbox_args=sandbox_args)
        stack.callback(lambda: s.sandbox.stop())
        stack.callback(lambda: [stop_process(m.proc) for m in s.monitors.values()])
        for region in regions:
            s.start_monitor(region, ports[region])
        yield s


def seconds(duration: str) -> float:
    return durations.parse(duration)

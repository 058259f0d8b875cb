"""What the browser checks cost: wall time and CPU per run, Chromium's peak memory, and the
overhead against the same flows through the API checks.

Against one sandbox started beforehand, each check runs as QA runs it (`pytest --target URL
-k CHECK`, a subprocess), alternating so that the machine's load falls on both alike:

- the student's draft flow: in the browser on desktop, on mobile (throttled CPU and
  network), and through the API (tests/synthetic/test_b2c.py);
- the checkout: in the browser on desktop, and through the API (test_payments.py);
- the draft flow on desktop without a trace recorded (browser.artifacts: never): what
  keeping the failure artifacts ready costs a passing run.

Per kind: wall time of the pytest run, the check's own time (its call phase and fixtures,
from summary.json), CPU (user + system of the whole process tree: pytest, Playwright's
driver, Chromium, sampled every 50 ms per process), and for the browser runs Chromium's
share of it and its peak memory (the sum over its processes of RSS, and of PSS, which
counts shared pages once).
The ratios are browser / API of the same flow, measured in this one run: this machine is
shared and noisy, the ratios travel better than the seconds.

Run: .venv/bin/python bench/browser_flow.py [--repeat N]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from synthmon.sandbox_process import running_sandbox

REPO = Path(__file__).resolve().parents[1]

KINDS = {
    "draft, browser, desktop": ("saves_and_drafts_an_application_in_the_browser",
                                "--device=desktop"),
    "draft, desktop, no trace": ("saves_and_drafts_an_application_in_the_browser",
                                 "--device=desktop", "--policy={untraced}"),
    "draft, browser, mobile": ("saves_and_drafts_an_application_in_the_browser",
                               "--device=mobile"),
    "draft, API": ("test_student_searches_saves_and_drafts_an_application",),
    "checkout, browser, desktop": ("buys_a_plan_in_the_browser", "--device=desktop"),
    "checkout, API": ("checkout_with_the_sandbox_token_validates_once",),
}
PAIRS = (("draft, browser, desktop", "draft, API"), ("draft, browser, mobile", "draft, API"),
         ("checkout, browser, desktop", "checkout, API"),
         ("draft, browser, desktop", "draft, desktop, no trace"))


@dataclass
class Figures:
    wall_s: list[float] = field(default_factory=list)
    check_s: list[float] = field(default_factory=list)
    cpu_s: list[float] = field(default_factory=list)
    chromium_cpu_s: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    pss_mb: list[float] = field(default_factory=list)


class TreeSampler(threading.Thread):
    """Samples the process tree under `pid` every 50 ms: each process's last CPU time (its
    own user + system, so nothing counts twice; at most one interval lost per process), and
    the peak over time of Chromium's memory summed over its processes (RSS, and PSS)."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.cpu: dict[int, float] = {}
        self.chromium: set[int] = set()
        self.rss = self.pss = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(0.05):
            self.sample()

    def sample(self) -> None:
        try:
            tree = [self.root, *self.root.children(recursive=True)]
        except psutil.Error:
            return
        rss = pss = 0.0
        for proc in tree:
            try:
                times = proc.cpu_times()
                self.cpu[proc.pid] = times.user + times.system
                if "chrom" not in proc.name().lower():
                    continue
                self.chromium.add(proc.pid)
                info = proc.memory_full_info()
            except psutil.Error:
                continue
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
        self.rss, self.pss = max(self.rss, rss / 2**20), max(self.pss, pss / 2**20)

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu.values())

    @property
    def chromium_cpu_s(self) -> float:
        return sum(v for pid, v in self.cpu.items() if pid in self.chromium)


def run_once(url: str, check: str, args: list[str], figures: Figures) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-browser-") as reports:
        command = [sys.executable, "-m", "pytest", f"--target={url}", "-q",
                   "-p", "no:cacheprovider", f"--reports-dir={reports}", "-k", check, *args]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "SYNTH_"))}
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        output, _ = proc.communicate(timeout=300)
        wall = time.perf_counter() - started
        sampler.stop.set()
        sampler.join()
        if proc.returncode != 0:
            raise SystemExit(f"{check} failed, so its figures mean nothing:\n{output[-3000:]}")
        summary = json.loads(next(Path(reports).glob("*/summary.json")).read_text())
    figures.wall_s.append(wall)
    figures.check_s.append(sum(c["duration_s"] for c in summary["checks"]))
    figures.cpu_s.append(sampler.cpu_s)
    if args:
        figures.chromium_cpu_s.append(sampler.chromium_cpu_s)
        figures.rss_mb.append(sampler.rss)
        figures.pss_mb.append(sampler.pss)


def _untraced_policy(work: Path) -> Path:
    """The shipped policy with browser.artifacts: never: what keeping a trace ready costs."""
    folder = work / "untraced"
    shutil.copytree(REPO / "schemas", folder / "schemas")
    policy = (REPO / "canary-policy.yaml").read_text(encoding="utf-8")
    marker = "  artifacts: on-failure"
    if marker not in policy:
        raise SystemExit("canary-policy.yaml has no `artifacts: on-failure` line to turn off")
    (folder / "canary-policy.yaml").write_text(policy.replace(marker, "  artifacts: never"),
                                               encoding="utf-8")
    return folder / "canary-policy.yaml"


def _median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind (default 3)")
    args = parser.parse_args()
    results = {kind: Figures() for kind in KINDS}
    with tempfile.TemporaryDirectory(prefix="bench-browser-sandbox-") as work, \
            running_sandbox(Path(work), access_log="-") as box:
        url = box.url
        untraced = _untraced_policy(Path(work))
        for _ in range(args.repeat):
            for kind, (check, *extra) in KINDS.items():
                run_once(url, check, [a.format(untraced=untraced) for a in extra], results[kind])

    print(f"browser checks vs the same flows through the API: {args.repeat} runs each, "
          f"medians, load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'run':<28} {'wall s':>7} {'check s':>8} {'CPU s':>7} {'of it Chromium':>15} "
          f"{'Chromium peak RSS MiB':>22} {'PSS MiB':>8}")
    for kind, f in results.items():
        memory = (f"{_median(f.chromium_cpu_s):>15.2f} {_median(f.rss_mb):>22.0f} "
                  f"{_median(f.pss_mb):>8.0f}" if f.rss_mb
                  else f"{'-':>15} {'-':>22} {'-':>8}")
        print(f"{kind:<28} {_median(f.wall_s):>7.2f} {_median(f.check_s):>8.2f} "
              f"{_median(f.cpu_s):>7.2f} {memory}")
    print("\noverheads, ratios of medians (browser over API of the same flow; a trace kept "
          "ready over none):")
    for first, second in PAIRS:
        b, a = results[first], results[second]
        print(f"  {first} / {second}: wall x{_median(b.wall_s) / _median(a.wall_s):.1f}, "
              f"check time x{_median(b.check_s) / _median(a.check_s):.1f}, "
              f"CPU x{_median(b.cpu_s) / _median(a.cpu_s):.1f}")


if __name__ == "__main__":
    main()

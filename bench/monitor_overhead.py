"""What the monitor loop costs on top of the suite it runs. Prints figures; asserts nothing.

1. The loop alone, with a stub runner (no child process): time per cycle spent in the
   monitor (state tracking, metrics, state file, metrics.prom, pruning) and RSS over
   1,000 cycles.
2. The real thing: `synthmon monitor` against a loopback sandbox, `-m health`, 3 cycles of
   5 s: the pytest child's run time vs the monitor's own overhead and scheduler lag, read
   from the metrics.prom it writes.

Bounded: about 30 s, loopback only.
"""

from __future__ import annotations

import gc
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
from prometheus_client.parser import text_string_to_metric_families

from synthmon.backoff import Backoff
from synthmon.monitor.loop import Monitor, MonitorConfig
from synthmon.monitor.results import CheckResult, RunResult
from synthmon.sandbox_process import start_sandbox

REPO = Path(__file__).resolve().parents[1]
CHECKS = [f"tests/synthetic/test_x.py::test_{i}" for i in range(30)]


class StubRunner:
    def __init__(self) -> None:
        self.calls = 0

    def run(self, node_ids, run_dir: Path) -> RunResult:
        self.calls += 1
        run_dir.mkdir(parents=True, exist_ok=True)
        selected = node_ids or CHECKS
        bad = self.calls % 7 == 0
        return RunResult(checks={c: CheckResult(c, "failed" if bad and c == CHECKS[0]
                                                else "passed", 0.01) for c in selected},
                         exit_code=0, duration_s=0.0)

    def abort(self) -> None:
        pass


def loop_alone(cycles: int = 1000) -> None:
    process = psutil.Process()
    rss: dict[int, float] = {}

    def sink(event: str, fields: dict) -> None:
        if event == "cycle_finished" and fields["cycle"] in (1, 200, cycles):
            gc.collect()
            rss[fields["cycle"]] = process.memory_info().rss / 2**20

    with tempfile.TemporaryDirectory() as tmp:
        config = MonitorConfig(interval=0.001, iterations=cycles, reports_root=Path(tmp),
                               keep_runs=5, backoff=Backoff(base=0, retries=2, cap=0, jitter=0))
        monitor = Monitor(StubRunner(), config, emit=sink)
        started = time.perf_counter()
        monitor.run()
        elapsed = time.perf_counter() - started
    print(f"loop alone, {cycles} cycles of 30 checks (a fault every 7th run): "
          f"{elapsed / cycles * 1000:.2f} ms per cycle including the 1 ms interval grid")
    print(f"  RSS after 1 cycle {rss[1]:.1f} MiB, after 200 {rss[200]:.1f} MiB, "
          f"after {cycles} {rss[cycles]:.1f} MiB "
          f"(growth 200->{cycles}: {rss[cycles] - rss[200]:+.2f} MiB)")


def value(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    return float("nan")


def against_sandbox(cycles: int = 3) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        box = start_sandbox(Path(tmp) / "sandbox")
        url = box.url
        try:
            runs = Path(tmp) / "runs"
            overheads, lags = [], []
            monitor = subprocess.Popen(
                [sys.executable, "-m", "synthmon.cli", "monitor", "--target", url,
                 "--interval", "5", "--iterations", str(cycles), "--reports-dir", str(runs),
                 "--", "-m", "health"],
                cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            )
            assert monitor.stderr is not None
            for line in monitor.stderr:
                if '"cycle_finished"' in line:
                    text = (runs / "metrics.prom").read_text()
                    overheads.append(value(text, "synthmon_monitor_overhead_seconds"))
                    lags.append(value(text, "synthmon_monitor_scheduler_lag_seconds"))
            monitor.wait(60)
            text = (runs / "metrics.prom").read_text()
        finally:
            box.stop()
    count = value(text, "synthmon_monitor_run_duration_seconds_count", kind="scheduled")
    total = value(text, "synthmon_monitor_run_duration_seconds_sum", kind="scheduled")
    run_s = total / count
    overhead_s = sum(overheads) / len(overheads)
    print(f"against a loopback sandbox, -m health, {cycles} cycles of 5 s:")
    print(f"  pytest child run {run_s:.2f} s per cycle; monitor overhead "
          f"{overhead_s * 1000:.1f} ms per cycle ({overhead_s / run_s:.2%} of the run); "
          f"scheduler lag max {max(lags) * 1000:.1f} ms")


if __name__ == "__main__":
    loop_alone()
    against_sandbox()

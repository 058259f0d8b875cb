"""Where the gate's samples come from: the suite run as a process against each cohort, side
by side and paced, for the window; or what earlier runs wrote (summary.json, the history
store). The gate never imports the plugin: it reads what pytest wrote."""

from __future__ import annotations

import json
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from synthmon.history import HistoryStore
from synthmon.samples import Sample
from synthmon.suite_process import SuiteProcess, SuiteRun


class CollectError(RuntimeError):
    """The samples could not be gathered; the message says why."""


def suite_dir(explicit: str | None = None) -> Path:
    """The directory pytest runs the suite from (where pytest.ini and tests/ are)."""
    candidates = [Path(explicit)] if explicit else [Path.cwd(), Path(__file__).resolve().parents[3]]
    for candidate in candidates:
        if (candidate / "pytest.ini").is_file() and (candidate / "tests").is_dir():
            return candidate
    raise CollectError("cannot find the suite (pytest.ini and tests/): run from the project "
                       "directory or pass --suite-dir")


def read_summary_samples(path: Path) -> list[Sample]:
    """Samples of one summary.json, or of every */summary.json under a directory."""
    # resolve + set: reports/latest is a link to a run dir, not a run of its own.
    files = [path] if path.is_file() else sorted({p.resolve() for p in path.glob("*/summary.json")})
    if not files and path.is_dir() and (path / "summary.json").is_file():
        files = [path / "summary.json"]
    samples: list[Sample] = []
    for file in files:
        try:
            data = json.loads(file.read_text(encoding="utf-8"))
            requests = data["requests"]
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CollectError(f"{file}: cannot read the run summary ({exc})") from exc
        except (KeyError, TypeError) as exc:
            raise CollectError(f"{file}: not a run summary synthmon wrote (no requests)") from exc
        samples.extend(Sample.from_dict(entry) for entry in requests)
    return samples


def read_history(path: Path, since: float, until: float, cohort: str) -> list[Sample]:
    if not path.is_file():
        raise CollectError(f"{path}: no history store there")
    return HistoryStore(path).samples(since=since, until=until, cohort=cohort)


@dataclass
class CohortRunner:
    """Runs the suite against one cohort again and again until told to stop."""

    url: str
    cohort: str
    scope: str
    cwd: Path
    pacing_s: float
    run_timeout_s: float
    extra_args: list[str] = field(default_factory=list)
    policy_path: str | None = None
    samples: list[Sample] = field(default_factory=list)
    runs: int = 0
    failures: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _process: SuiteProcess | None = None

    def spec(self, reports_dir: Path) -> SuiteRun:
        return SuiteRun(target=self.url, reports_dir=reports_dir, cwd=self.cwd,
                        cohort=self.cohort, policy=self.policy_path, marker=self.scope or None,
                        pytest_args=self.extra_args)

    @property
    def process(self) -> SuiteProcess:
        if self._process is None:
            self._process = SuiteProcess(timeout_s=self.run_timeout_s)
        return self._process

    def run_once(self) -> list[Sample]:
        with tempfile.TemporaryDirectory(prefix=f"synthmon-gate-{self.cohort}-") as tmp:
            outcome = self.process.run(self.spec(Path(tmp)), Path(tmp) / "pytest-output.txt")
            if self.process.aborted():
                return []  # stopped mid-run: a partial run is not a run
            if outcome.error is not None:
                self.failures.append(f"a suite run against {self.cohort}: {outcome.error}")
                return []
            samples = read_summary_samples(Path(tmp))
            if outcome.exit_code not in (0, 1) or not samples:
                tail = " | ".join(outcome.tail(3).splitlines())
                self.failures.append(f"suite run against {self.cohort} exited "
                                     f"{outcome.exit_code} with {len(samples)} samples: {tail}")
            return samples

    def loop(self, deadline: float, stop: threading.Event) -> None:
        while not stop.is_set() and time.time() < deadline:
            samples = self.run_once()
            with self._lock:
                self.samples.extend(samples)
                self.runs += 1
            if len(self.failures) >= 3 and not self.samples:
                return  # the suite cannot run at all: waiting longer will not help
            stop.wait(self.pacing_s)

    def abort(self) -> None:
        """Stop the suite run under way (its process group), so a stop does not wait for
        it to finish; what it gathered is dropped."""
        self.process.abort()

    def since(self, t: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if s.started_at >= t]


class SideBySide:
    """Canary and control runners in two threads, so both see the same minutes."""

    def __init__(self, runners: list[CohortRunner]):
        self.runners = runners
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []
        self.started_at = 0.0

    def start(self, duration_s: float) -> None:
        self.started_at = time.time()
        deadline = self.started_at + duration_s
        for runner in self.runners:
            thread = threading.Thread(target=runner.loop, args=(deadline, self.stop),
                                      name=f"gate-{runner.cohort}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self) -> None:
        for thread in self.threads:
            thread.join()

    def cancel(self) -> None:
        """Stop both runners now, the suite runs under way included."""
        self.stop.set()
        for runner, thread in zip(self.runners, self.threads, strict=False):
            if thread.is_alive():
                runner.abort()
        self.join()

    @property
    def alive(self) -> bool:
        return any(t.is_alive() for t in self.threads)

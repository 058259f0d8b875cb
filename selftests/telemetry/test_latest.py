"""reports/latest points to the newest finished run (by start), whatever order runs sharing
a reports folder finish in, and however many finish at once."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
from pathlib import Path

from synthmon.reports.summary import point_latest


def _finish(reports: Path, name: str, started_at: float) -> bool:
    run_dir = reports / name
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "summary.json").write_text(json.dumps({"started_at_unix": started_at}))
    return point_latest(reports, run_dir, started_at)


def _latest(reports: Path) -> str:
    return os.readlink(reports / "latest")


def test_an_older_run_that_finishes_last_does_not_take_latest(tmp_path: Path) -> None:
    assert _finish(tmp_path, "run-b", 200.0)
    assert not _finish(tmp_path, "run-a", 100.0)  # started earlier, finished later
    assert _latest(tmp_path) == "run-b"
    assert _finish(tmp_path, "run-c", 300.0)
    assert _latest(tmp_path) == "run-c"


def test_a_latest_pointing_at_nothing_readable_is_replaced(tmp_path: Path) -> None:
    (tmp_path / "latest").symlink_to("gone", target_is_directory=True)
    assert _finish(tmp_path, "run-a", 1.0)
    assert _latest(tmp_path) == "run-a"


def _racer(reports: str, name: str, started_at: float, barrier: object) -> None:
    barrier.wait()  # type: ignore[attr-defined]
    _finish(Path(reports), name, started_at)


def test_runs_finishing_at_once_leave_the_newest(tmp_path: Path) -> None:
    for round_ in range(5):
        reports = tmp_path / f"round{round_}"
        starts = [float(n) for n in range(12)]
        random.shuffle(starts)
        context = multiprocessing.get_context("fork")
        barrier = context.Barrier(len(starts))
        racers = [context.Process(target=_racer, args=(str(reports), f"run-{int(s):02d}", s,
                                                       barrier)) for s in starts]
        for racer in racers:
            racer.start()
        for racer in racers:
            racer.join(30)
            assert racer.exitcode == 0
        assert _latest(reports) == "run-11"
        assert not list(reports.glob(".latest.*.tmp"))

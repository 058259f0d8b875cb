"""Without a usable Chromium, or with a device the policy does not know, the browser checks
fail, each with one sentence saying what to do; never a skip that looks green."""

from __future__ import annotations

import pytest
from suite_harness import run_suite, sandbox

BROWSER_CHECKS = ("test_student_saves_and_drafts_an_application_in_the_browser",
                  "test_student_buys_a_plan_in_the_browser")


@pytest.mark.slow
def test_a_missing_chromium_fails_each_browser_check_saying_how_to_get_one(tmp_path) -> None:
    with sandbox() as url:
        run = run_suite(url, "-m", "browser", env={"SYNTH_CHROMIUM": str(tmp_path / "chromium")})
    assert run.returncode == 1, run.output
    failed = [line for line in run.output.splitlines() if line.startswith("FAILED ")]
    assert sorted(line.split("::")[1].split(" ")[0] for line in failed) == sorted(BROWSER_CHECKS)
    sentence = (f": Chromium was not found at {tmp_path / 'chromium'}: install Debian's "
                "chromium package (as root: apt-get install chromium, which `make run` does), "
                "point SYNTH_CHROMIUM at a Chromium binary, or leave the browser checks out "
                'with -m "not browser"')
    for check in BROWSER_CHECKS:
        assert f"{check}{sentence}" in run.output, run.output
    assert "skipped" not in run.output and "2 failed" in run.output.splitlines()[-1]


@pytest.mark.slow
def test_an_unknown_device_fails_naming_the_known_ones() -> None:
    with sandbox() as url:
        run = run_suite(url, "-k", "buys_a_plan_in_the_browser", "--device=tablet")
    assert run.returncode == 1, run.output
    assert "--device tablet: the policy's browser.devices has no such profile (known: " \
           "desktop, mobile)" in run.output

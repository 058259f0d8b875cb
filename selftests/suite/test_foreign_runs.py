"""pytest loads synthmon's plugin for every project in the environment. Another project's run
keeps jsonschema's iri formats and gets no synthmon header, reports or telemetry; synthmon's
own run imports jsonschema without the iri parser that costs about two seconds a process."""

from __future__ import annotations

import json
import os

import pytest
from suite_harness import REPO

FOREIGN_CHECK = '''
import jsonschema
import pytest


def test_an_invalid_iri_is_refused():
    checker = jsonschema.Draft202012Validator.FORMAT_CHECKER
    assert "iri" in checker.checkers
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("not an iri at all", {"type": "string", "format": "iri"},
                            format_checker=checker)
'''
# A plugin that hides the iri parser at import, for every project: the check above must see it.
HIDES_THE_IRI_PARSER = '''
import sys
sys.modules["rfc3987_syntax"] = None
'''
WHAT_WAS_IMPORTED = '''
import json, os, sys

def pytest_unconfigure(config):
    with open(os.environ["IMPORTS_SINK"], "w") as sink:
        json.dump({"jsonschema": "jsonschema" in sys.modules,
                   "rfc3987_syntax": repr(sys.modules.get("rfc3987_syntax", "absent"))}, sink)
'''


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith(("SYNTH_", "OTEL_", "PYTEST_ADDOPTS"))]:
        monkeypatch.delenv(name)


def test_another_project_keeps_its_iri_checks_and_is_left_alone(pytester: pytest.Pytester,
                                                                 clean_env: None) -> None:
    pytester.makepyfile(test_foreign=FOREIGN_CHECK)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=120)
    result.assert_outcomes(passed=1)
    assert "synthmon: run" not in result.stdout.str()  # no header, nothing of the suite
    assert not (pytester.path / "reports").exists()


def test_the_foreign_check_fails_when_the_iri_parser_is_hidden(pytester: pytest.Pytester,
                                                               clean_env: None) -> None:
    pytester.makepyfile(test_foreign=FOREIGN_CHECK, hides_iri=HIDES_THE_IRI_PARSER)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "hides_iri",
                                           timeout=120)
    result.assert_outcomes(failed=1)


def test_synthmons_own_run_skips_the_iri_parser(pytester: pytest.Pytester, clean_env: None,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile(what_was_imported=WHAT_WAS_IMPORTED)
    sink = pytester.path / "imports.json"
    monkeypatch.setenv("IMPORTS_SINK", str(sink))
    monkeypatch.setenv("PYTHONPATH", str(pytester.path))
    monkeypatch.chdir(REPO)
    result = pytester.run(
        *pytester._getpytestargs(), "--collect-only", "-q", "-p", "no:cacheprovider",
        "-p", "what_was_imported", "--reports-dir=off", timeout=120)
    assert result.ret == 0, result.stdout.str()
    imported = json.loads(sink.read_text())
    assert imported["jsonschema"] is True  # the policy was validated
    # hidden for synthmon's import only, and given back: nothing is left in sys.modules
    assert imported["rfc3987_syntax"] == "'absent'", imported

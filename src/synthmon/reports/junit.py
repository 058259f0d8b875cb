"""junit.xml through pytest's own junitxml plugin, pointed at the run directory.

Set at session start (after every pytest_configure) so the order in which plugins configure
does not matter: if the user gave --junitxml, theirs wins; otherwise we create the LogXML
exactly as junitxml's pytest_configure would have with the option set.

After the run the file is rewritten once: each sample property (a whole Sample dict, bulky
and possibly carrying a schema-error text from the target) becomes its synthetic id and
trace id, and every text is scrubbed. A run that did not end on its checks' verdicts says
how it ended in the testsuite's properties (synthmon.outcome, synthmon.reason), and a check
that was still running when the run was interrupted is a testcase with an <error>, never a
pass (pytest writes nothing, or a testcase without a name, for it). The run's own verdicts
(synthmon::run_latency) are added as testcases of classname `synthmon`, so a CI that reads
junit.xml sees a slow run as a failing testcase.
"""

from __future__ import annotations

import ast
import os
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import pytest
from _pytest.junitxml import LogXML, mangle_test_address, xml_key

from synthmon.outcomes import CheckOutcome
from synthmon.privacy import scrub_text
from synthmon.samples import SAMPLE_PROPERTY


def configure(config: pytest.Config, path: Path) -> Path | None:
    """Returns the junit.xml path in use (ours or the user's), None on a worker."""
    if hasattr(config, "workerinput"):
        return None
    existing = config.stash.get(xml_key, None)
    if existing is not None or config.option.xmlpath:
        return Path(config.option.xmlpath) if config.option.xmlpath else None
    config.option.xmlpath = str(path)
    xml = LogXML(
        str(path),
        config.option.junitprefix,
        config.getini("junit_suite_name"),
        config.getini("junit_logging"),
        config.getini("junit_duration_report"),
        config.getini("junit_family"),
        config.getini("junit_log_passing_tests"),
    )
    config.stash[xml_key] = xml
    config.pluginmanager.register(xml)
    xml.pytest_sessionstart()  # registered during sessionstart: its own impl was skipped
    return path


def _first_suite(tree: ET.ElementTree[ET.Element]) -> ET.Element | None:
    """pytest writes one <testsuite> under a <testsuites> root; a lone <testsuite> root
    (as other tools write it) is taken as it is."""
    root = tree.getroot()
    return root if root.tag == "testsuite" else root.find("testsuite")


def _mark(tree: ET.ElementTree[ET.Element], outcome: str, reason: str,
          unfinished: Sequence[str]) -> None:
    suite = _first_suite(tree)
    if suite is None:
        return
    for case in [c for c in suite.findall("testcase") if not c.get("name")]:
        suite.remove(case)
    properties = suite.find("properties")
    if properties is None:
        properties = ET.Element("properties")
        suite.insert(0, properties)
    for name, value in (("synthmon.outcome", outcome), ("synthmon.reason", reason)):
        ET.SubElement(properties, "property", name=name, value=value)
    for nodeid in unfinished:
        names = mangle_test_address(nodeid)
        classname, name = ".".join(names[:-1]), names[-1]
        matching = [c for c in suite.iter("testcase")
                    if (c.get("classname"), c.get("name")) == (classname, name)]
        case = matching[0] if matching else ET.SubElement(
            suite, "testcase", classname=classname, name=name, time="0")
        if case.find("error") is None and case.find("failure") is None:
            ET.SubElement(case, "error", message=reason, type="interrupted")
            suite.set("errors", str(int(suite.get("errors") or 0) + 1))
    suite.set("tests", str(len(suite.findall("testcase"))))


def _compact_sample(value: str) -> str:
    try:
        data = ast.literal_eval(value)  # LogXML wrote str(dict)
    except (ValueError, SyntaxError):
        return scrub_text(value) or ""
    if not isinstance(data, dict):
        return scrub_text(value) or ""
    return (f"{data.get('method')} {data.get('route')} -> {data.get('status')} "
            f"synthetic_id={data.get('synthetic_id')} trace_id={data.get('trace_id')}")


def add_testcases(tree: ET.ElementTree[ET.Element], outcomes: Sequence[CheckOutcome]) -> None:
    """Each outcome as a testcase of the first testsuite (`synthmon::run_latency` reads back
    as classname synthmon, name run_latency, as pytest would write that node id), its
    counts updated."""
    suite = _first_suite(tree)
    if suite is None:
        return
    for outcome in outcomes:
        names = mangle_test_address(outcome.nodeid)
        case = ET.SubElement(suite, "testcase", classname=".".join(names[:-1]),
                             name=names[-1], time=f"{outcome.duration_s:.3f}")
        if outcome.critical:
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="critical", value="true")
        if outcome.outcome == "failed":
            failure = ET.SubElement(case, "failure", message=outcome.message or "failed")
            failure.text = outcome.message or ""
            suite.set("failures", str(int(suite.get("failures") or 0) + 1))
    suite.set("tests", str(len(suite.findall("testcase"))))


def rewrite(path: Path, outcome: str | None = None, reason: str | None = None,
            unfinished: Sequence[str] = (), verdicts: Sequence[CheckOutcome] = ()) -> None:
    """Compact the sample properties and scrub every text and attribute of junit.xml; mark
    how the run ended and the checks it interrupted; add the run's own verdicts."""
    if not path.is_file():
        return
    tree = ET.parse(path)
    if outcome is not None:
        _mark(tree, outcome, reason or outcome, unfinished)
    add_testcases(tree, verdicts)
    for element in tree.iter():
        if element.tag == "property" and element.get("name") == SAMPLE_PROPERTY:
            element.set("value", _compact_sample(element.get("value", "")))
            continue
        for key, value in list(element.attrib.items()):
            element.set(key, scrub_text(value) or "")
        if element.text:
            element.text = scrub_text(element.text)
        if element.tail:
            element.tail = scrub_text(element.tail)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tree.write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)

"""junit.xml through pytest's own junitxml plugin, pointed at the run directory.

Set at session start (after every pytest_configure) so the order in which plugins configure
does not matter: if the user gave --junitxml, theirs wins; otherwise we create the LogXML
exactly as junitxml's pytest_configure would have with the option set.

After the run the file is rewritten once: each sample property (a whole Sample dict, bulky
and possibly carrying a schema-error text from the target) becomes its synthetic id and
trace id, and every text is scrubbed.
"""

from __future__ import annotations

import ast
import os
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from _pytest.junitxml import LogXML, xml_key

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


def _compact_sample(value: str) -> str:
    try:
        data = ast.literal_eval(value)  # LogXML wrote str(dict)
    except (ValueError, SyntaxError):
        return scrub_text(value) or ""
    if not isinstance(data, dict):
        return scrub_text(value) or ""
    return (f"{data.get('method')} {data.get('route')} -> {data.get('status')} "
            f"synthetic_id={data.get('synthetic_id')} trace_id={data.get('trace_id')}")


def rewrite(path: Path) -> None:
    """Compact the sample properties and scrub every text and attribute of junit.xml."""
    if not path.is_file():
        return
    tree = ET.parse(path)
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

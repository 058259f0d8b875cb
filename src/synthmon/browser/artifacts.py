"""What a failing browser check leaves behind: a screenshot, the Playwright trace and the
page's console log, in reports/<run-id>/browser/<check>/ and attached to its Allure result.

The privacy rules hold for them as for every report: only test accounts are typed, and the
trace is rewritten before it is kept. Request bodies and the bodies of API answers (fetch,
XHR) are dropped, cookies dropped, headers allow-listed (privacy.scrub_headers), and every
string of every JSON record, like every text resource, scrubbed of registered secrets and
personal-data patterns (privacy.scrub_text). The trace still opens in `playwright show-trace`
or trace.playwright.dev: actions, screenshots, DOM snapshots, console, the list of requests.
"""

from __future__ import annotations

import contextlib
import json
import zipfile
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, Error, Page

from synthmon.privacy import scrub_headers, scrub_text, scrub_value

# Bodies kept (scrubbed when text) because the trace viewer draws its DOM snapshots with them.
_KEPT_BODIES = frozenset({"document", "stylesheet", "script", "image", "font"})
_TEXT_SUFFIXES = (".html", ".css", ".js", ".json", ".txt", ".svg", ".xml")


class Artifacts:
    def __init__(self, context: BrowserContext, mode: str, out_dir: Path | None) -> None:
        self.context, self.mode, self.out_dir = context, mode, out_dir
        context.tracing.start(screenshots=True, snapshots=True, sources=False)
        self._tracing = True

    def keep(self, page: Page, console: list[str], *, failed: bool, name: str) -> list[Path]:
        if self.out_dir is None or not (failed or self.mode == "always"):
            return []
        self.out_dir.mkdir(parents=True, exist_ok=True)
        kept: list[Path] = []
        screenshot = self.out_dir / "screenshot.png"
        try:
            page.screenshot(path=str(screenshot), full_page=True, timeout=5000)
            kept.append(screenshot)
        except Error:
            pass  # a page that cannot be drawn any more still has its trace and log
        if self._tracing:
            raw = self.out_dir / ".trace-unscrubbed.zip"
            try:
                self.context.tracing.stop(path=str(raw))
                self._tracing = False
                scrub_trace(raw, self.out_dir / "trace.zip")
                kept.append(self.out_dir / "trace.zip")
            except Error:
                pass
            finally:
                raw.unlink(missing_ok=True)
        log = self.out_dir / "console.log"
        log.write_text(f"# console of {scrub_text(name)}\n"
                       + "".join(f"{line}\n" for line in console))
        kept.append(log)
        return kept

    def discard(self) -> None:
        if self._tracing:
            self._tracing = False
            with contextlib.suppress(Error):
                self.context.tracing.stop()


def scrub_trace(source: Path, target: Path) -> None:
    """Rewrite a Playwright trace zip under the privacy rules (module docstring)."""
    with zipfile.ZipFile(source) as zin:
        names = zin.namelist()
        dropped: set[str] = set()
        rewritten: dict[str, bytes] = {}
        for name in names:
            if name.endswith(".network"):
                rewritten[name] = _scrub_lines(zin.read(name),
                                               lambda record: _scrub_network(record, dropped))
            elif name.endswith((".trace", ".stacks")):
                rewritten[name] = _scrub_lines(zin.read(name), scrub_record)
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
            for name in names:
                if name in rewritten:
                    zout.writestr(name, rewritten[name])
                elif name in dropped:
                    continue
                elif name.startswith("resources/") and name.endswith(_TEXT_SUFFIXES):
                    text = zin.read(name).decode("utf-8", errors="replace")
                    zout.writestr(name, scrub_text(text) or "")
                else:
                    zout.writestr(name, zin.read(name))


# Keys whose values are the trace's own references (files, ids such as page@<hex>-<ts>.jpeg,
# which the email pattern would take for an address): kept as they are.
_REFERENCES = frozenset({"file", "_file", "sha1", "_sha1", "pageId", "pageref", "_frameref",
                         "frameId", "guid", "callId", "parentId", "snapshotName"})


def scrub_record(value: Any, key: str = "") -> Any:
    """privacy.scrub_value for trace records: header lists allow-listed, references kept."""
    if key in _REFERENCES:
        return value
    if key == "headers" and isinstance(value, list) and all(
            isinstance(h, dict) and "name" in h for h in value):
        return [{**h, "value": v} for h in value
                for v in scrub_headers([(str(h["name"]), str(h.get("value", "")))]).values()]
    if isinstance(value, dict):
        return {k: scrub_record(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_record(v, key) for v in value]
    return scrub_value(value)


def _scrub_lines(data: bytes, scrub: Any) -> bytes:
    out = []
    for line in data.decode("utf-8", errors="replace").splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            out.append(scrub_text(line) or "")
            continue
        out.append(json.dumps(scrub(record), separators=(",", ":")))
    return ("\n".join(out) + "\n").encode()


def _body_file(part: Any) -> str | None:
    if not isinstance(part, dict):
        return None
    if part.get("_file"):
        return str(part["_file"])
    return f"resources/{part['_sha1']}" if part.get("_sha1") else None


def _scrub_network(record: Any, dropped: set[str]) -> Any:
    """One HAR entry of trace.network: no request body, no cookies, allow-listed headers, and
    no response body unless the snapshot renderer needs it (a page, its styles, scripts)."""
    snapshot = record.get("snapshot") if isinstance(record, dict) else None
    if not isinstance(snapshot, dict):
        return scrub_record(record)
    request, response = snapshot.get("request") or {}, snapshot.get("response") or {}
    body = _body_file(request.pop("postData", None))
    if body:
        dropped.add(body)
    for part in (request, response):
        part["cookies"] = []
    content = response.get("content")
    if isinstance(content, dict) and snapshot.get("_resourceType") not in _KEPT_BODIES:
        body = _body_file(content)
        if body:
            dropped.add(body)
        for key in ("_file", "_sha1", "text"):
            content.pop(key, None)
    return scrub_record(record)

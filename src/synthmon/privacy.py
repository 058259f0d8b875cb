"""What may leave the process: nothing that identifies a person or opens an account.

Passwords, tokens, cookies, emails, names and bodies never reach spans, metrics, logs,
reports or attachments. Three layers, because each alone has holes:

1. Structure: bodies are never written anywhere; they are replaced by a hash of their
   *shape* (keys and value types, no values), which is enough to see that a response
   changed form between builds. Headers pass an allow-list; everything else is redacted.
2. Patterns: free text that does leave (schema-error and failure messages, header values on
   the allow-list) is scrubbed of emails, JWTs, bearer and payment tokens, cookies and
   `password=...`-style pairs.
3. Known secrets: the values the monitor itself handles (test-account emails and passwords
   from the environment, tokens the client received, names it sent) are registered with
   `register_secret` and removed literally wherever they appear.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from typing import Any

REDACTED = "[redacted]"

# Headers whose values carry no personal data or secrets; every other header is redacted.
SAFE_HEADERS = frozenset({
    "accept", "allow", "cache-control", "content-length", "content-security-policy",
    "content-type", "date", "etag", "referrer-policy", "retry-after",
    "strict-transport-security", "traceparent", "tracestate", "user-agent", "vary",
    "x-content-type-options", "x-frame-options", "x-ratelimit-limit", "x-ratelimit-remaining",
    "x-ratelimit-reset", "x-request-id", "x-synthetic-id", "access-control-allow-origin",
    "access-control-allow-credentials", "access-control-allow-methods", "server",
    "x-powered-by",
})

# Each pattern with the strings a text must hold for it to match at all (`folded`: looked
# for in the lower-cased text): reports scrub thousands of short strings, and looking for
# "@" costs far less than running the email pattern over each.
_PATTERNS: list[tuple[re.Pattern[str], str, tuple[str, ...], bool]] = [
    # JWT-looking strings first, so the email rule does not split them.
    (re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[jwt]",
     ("eyJ",), False),
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]", ("@",), False),
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+"), r"\1 [token]",
     ("bearer", "basic"), True),
    (re.compile(r"\btok_[A-Za-z0-9_]+"), "[payment-token]", ("tok_",), False),
    (re.compile(r"(?i)\b(sa_session|sa_csrf|session|csrf[_-]?token)=([^;,\s'\"]+)"),
     r"\1=[cookie]", ("=",), False),
    # key/value pairs whose key says what the value is: password=..., "token": "..."
    (re.compile(
        r"(?i)([\"']?(?:password|passwd|secret|api[_-]?key|access_token|refresh_token|"
        r"csrf_token|token|authorization|cookie|set-cookie|email|display_name|name)[\"']?"
        r"\s*[:=]\s*)([\"'])(.*?)\2"),
     r"\1\2[redacted]\2", (":", "="), False),
    (re.compile(r"(?i)\b(password|passwd|secret|token)=([^&\s,;]+)"), r"\1=[redacted]",
     ("=",), False),
]

_secrets: set[str] = set()
_secrets_lock = threading.Lock()
# The secrets longest first, so a secret that contains another is removed whole, and the
# negated length of each (ascending), so that bisect finds the first secret short enough to
# be in a text at all. One object, so a reader without the lock always holds a matching pair.
# Replaced literally rather than through one compiled alternation: the client registers
# values on every call, and recompiling an alternation of every secret so far (a check may
# send a 64 KiB name) cost a quarter of a second each time.
_secret_table: tuple[tuple[str, ...], tuple[int, ...]] = ((), ())

# Environment variables whose values are credentials of the test accounts (api-contract.md).
_SECRET_ENV = re.compile(r"^SYNTH_.*(EMAIL|PASSWORD|TOKEN|SECRET)$")


def register_secret(*values: str | None) -> None:
    """Remember values that must never be written anywhere (scrubbed literally from text).

    The api client calls this for the passwords and emails it sends and the tokens it
    receives; short values are ignored because removing them would shred ordinary text.
    """
    global _secret_table
    new = {v for v in values if isinstance(v, str) and len(v) >= 6}
    if not new:
        return
    with _secrets_lock:
        if new <= _secrets:
            return
        _secrets.update(new)
        ordered = tuple(sorted(_secrets, key=len, reverse=True))
        _secret_table = (ordered, tuple(-len(secret) for secret in ordered))


def register_environment_secrets(environ: Mapping[str, str] | None = None) -> None:
    environ = os.environ if environ is None else environ
    register_secret(*(value for name, value in environ.items() if _SECRET_ENV.match(name)))


def scrub_text(text: object) -> str | None:
    """Remove secrets and personal data from free text (anything else as its str());
    None stays None."""
    if text is None:
        return None
    if not isinstance(text, str):
        text = str(text)
    ordered, lengths = _secret_table
    # longest first: start at the first secret short enough to be in the text at all; most
    # texts are header values and ids, shorter than every token
    for secret in ordered[bisect_left(lengths, -len(text)):]:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for regex, replacement, needles, folded in _PATTERNS:
        haystack = text.lower() if folded else text
        for needle in needles:  # a plain loop: a generator per pattern cost more than the look
            if needle in haystack:
                text = regex.sub(replacement, text)
                break
    return text


def scrub_value(value: Any) -> Any:
    """scrub_text applied to every string inside a JSON-like value."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, Mapping):
        return {k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def scrub_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """Allow-listed headers with scrubbed values; the rest keep their name, lose their value."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    clean: dict[str, str] = {}
    for name, value in items:
        if name.lower() in SAFE_HEADERS:
            clean[name] = scrub_text(str(value)) or ""
        else:
            clean[name] = REDACTED
    return clean


def body_shape(value: Any) -> Any:
    """The shape of a JSON value: object keys and value types, never the values.

    Lists collapse to the distinct shapes of their elements, so a page of 20 results and
    a page of 3 have the same shape.
    """
    if isinstance(value, Mapping):
        return {str(k): body_shape(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, list | tuple):
        distinct: dict[str, Any] = {}  # canonical text -> shape, each item's written once
        for item in value:
            shape = body_shape(item)
            distinct.setdefault(json.dumps(shape, sort_keys=True), shape)
        return [distinct[key] for key in sorted(distinct)]
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if value is None:
        return "null"
    return "string"


def shape_hash(body: bytes | str | Any, content_type: str | None = None) -> str:
    """'sha256:<16 hex>' of the body's shape; for a non-JSON body, of its media type only."""
    parsed: Any
    if isinstance(body, bytes | str):
        if not body:
            return "empty"
        try:
            parsed = json.loads(body)
        except ValueError:
            media = (content_type or "unknown").split(";")[0].strip().lower()
            return "opaque:" + media
    else:
        parsed = body
    canonical = json.dumps(body_shape(parsed), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()[:16]

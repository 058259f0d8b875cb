"""Does a response member the schema does not name look like a secret or personal data?

An unknown member is usually an additive, backward-compatible change (schema drift, which
passes); but one called `password_hash`, or whose value is an email address or a JWT, is a
leak, and a leak is never additive. The words and patterns are the policy's
(`schema_drift` in canary-policy.yaml). A reason names the member and what it looks like,
never its value: the value may be the very secret.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from synthmon.policy import Policy, PolicyError

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[^A-Za-z0-9]+")
_MAX_DEPTH = 16  # an unknown member nested deeper than this is not worth a stack


def words(name: str) -> tuple[str, ...]:
    """'passwordHash', 'password_hash', 'Password-Hash' -> ('password', 'hash')."""
    return tuple(w.lower() for w in _SEPARATORS.split(_CAMEL.sub(r"\1 \2", name)) if w)


class LeakDetector:
    def __init__(self, names: Iterable[str], values: Mapping[str, str]) -> None:
        self._names = [words(name) for name in names if words(name)]
        self._values: list[tuple[str, re.Pattern[str]]] = []
        for label, pattern in values.items():
            try:
                self._values.append((label, re.compile(pattern)))
            except re.error as exc:
                raise PolicyError(f"schema_drift.secret_values.{label}: not a regular "
                                  f"expression ({exc})") from None

    @classmethod
    def from_policy(cls, policy: Policy) -> LeakDetector:
        section = policy.data["schema_drift"]
        return cls(section["secret_names"], section["secret_values"])

    def name_reason(self, name: str) -> str | None:
        said = words(name)
        joined = "".join(said)
        for entry in self._names:
            if "".join(entry) == joined or _contains(said, entry):
                return f"its name says {' '.join(entry)}"
        return None

    def value_reason(self, value: str) -> str | None:
        for label, pattern in self._values:
            if pattern.search(value):
                return f"its value looks like {label}"
        return None

    def leaks(self, name: str, value: Any) -> Iterator[tuple[tuple[str | int, ...], str]]:
        """(path below the member, reason) for the member itself and anything inside it."""
        yield from self._walk((), name, value, 0)

    def _walk(self, path: tuple[str | int, ...], name: str | None, value: Any,
              depth: int) -> Iterator[tuple[tuple[str | int, ...], str]]:
        if depth > _MAX_DEPTH:
            return
        reason = self.name_reason(name) if name is not None else None
        if reason is None and isinstance(value, str):
            reason = self.value_reason(value)
        if reason is not None:
            yield path, reason
            return
        if isinstance(value, dict):
            for key, child in value.items():
                yield from self._walk((*path, str(key)), str(key), child, depth + 1)
        elif isinstance(value, list):
            for index, child in enumerate(value):
                yield from self._walk((*path, index), None, child, depth + 1)


def _contains(said: tuple[str, ...], entry: tuple[str, ...]) -> bool:
    """`entry` appears in `said` as consecutive words, its last one maybe plural."""
    size = len(entry)
    for start in range(len(said) - size + 1):
        window = said[start:start + size]
        if window[:-1] == entry[:-1] and window[-1] in (entry[-1], entry[-1] + "s"):
            return True
    return False

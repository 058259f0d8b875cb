"""Reading the production-only signals from Prometheus: the HTTP API
queried within a total deadline, every answer checked before it counts as data, and every
query actually sent kept for the evidence."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

# An instant query's answer is a few kilobytes; anything this large is not one.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
# How far ahead of the gate's clock a sample's timestamp may lie (clock skew).
CLOCK_SKEW_S = 60.0


class PrometheusError(RuntimeError):
    """Prometheus could not answer, or answered something that is not data: unreachable,
    past its deadline, a rejected query, a malformed or impossible value."""


@dataclass
class PrometheusClient:
    """The instant-query API. `timeout_s` is the total deadline of one call (connect,
    headers and body): a Prometheus that trickles its answer cannot stretch an evaluation.
    Once a call finds Prometheus unreachable or past its deadline, the rest of the
    evaluation's queries fail at once with the same reason (`broken`), until `reset()`."""

    url: str
    timeout_s: float = 5.0
    sent: list[str] = field(default_factory=list)
    broken: str | None = None
    # promql -> its answer (or the error it raised) in this evaluation: judging the same
    # window for several phases asks Prometheus once.
    _answers: dict[tuple[str, float | None], tuple[float | None, dict[str, str]] | str] = \
        field(default_factory=dict)

    def reset(self) -> None:
        """A new evaluation: forget the last one's queries, answers and failure."""
        self.sent.clear()
        self._answers.clear()
        self.broken = None

    def probe(self) -> None:
        """One trivial query, so a dead Prometheus is found once, not once per criterion."""
        try:
            self.query("vector(1)")
        except PrometheusError:
            pass
        finally:
            if self.sent and self.sent[-1] == "vector(1)":
                self.sent.pop()

    def query(self, promql: str, window_s: float | None = None
              ) -> tuple[float | None, dict[str, str]]:
        """The instant query's value (the largest series when several come back, with its
        labels), or None when the result is empty. Every value must be a finite,
        non-negative number (the policy's queries are counts, rates and durations) stamped
        within the query's window; anything else raises PrometheusError naming the query."""
        self.sent.append(promql)
        if self.broken:
            raise PrometheusError(self.broken)
        known = self._answers.get((promql, window_s))
        if isinstance(known, str):
            raise PrometheusError(known)
        if known is not None:
            return known[0], dict(known[1])
        try:
            answer = self._ask(promql, window_s)
        except PrometheusError as exc:
            self._answers[(promql, window_s)] = str(exc)
            raise
        self._answers[(promql, window_s)] = answer
        return answer

    def _ask(self, promql: str, window_s: float | None) -> tuple[float | None, dict[str, str]]:
        now = time.time()
        status, body = self._get("/api/v1/query", {"query": promql, "time": f"{now:.3f}"})
        data = _answer_data(body, status, promql)
        oldest = now - (window_s if window_s is not None else 3600.0) - CLOCK_SKEW_S
        check = _ValueCheck(promql, oldest, now + CLOCK_SKEW_S)
        if data.get("resultType") == "scalar":
            return check.value(data.get("result")), {}
        result = data.get("result")
        if not isinstance(result, list):
            raise PrometheusError(f"Prometheus answered `{promql}` with a result that is not "
                                  f"a list ({type(result).__name__})")
        best: tuple[float, dict[str, str]] | None = None
        for series in result:
            if not isinstance(series, dict):
                raise PrometheusError(f"Prometheus answered `{promql}` with a series that is "
                                      f"not an object ({type(series).__name__})")
            value = check.value(series.get("value"))
            if math.isnan(value):
                continue  # a quantile of an empty histogram: no data, not a number
            if best is None or value > best[0]:
                labels = series.get("metric", {})
                best = (value, dict(labels) if isinstance(labels, dict) else {})
        return (best[0], best[1]) if best else (None, {})

    def healthy(self) -> bool:
        try:
            status, _ = self._get("/-/ready", {})
        except PrometheusError:
            return False
        return status == 200

    def _get(self, path: str, params: dict[str, str]) -> tuple[int, bytes]:
        try:
            return _get_within(self.url.rstrip("/") + path, params, self.timeout_s)
        except PrometheusError as exc:
            self.broken = f"Prometheus at {self.url}: {exc}"
            raise PrometheusError(self.broken) from exc


def _get_within(url: str, params: dict[str, str], deadline_s: float) -> tuple[int, bytes]:
    """GET with a total deadline over connect, headers and body: the socket's timeout is
    set to what is left of the deadline before every read, so a trickle of one byte every
    few seconds ends at the deadline instead of resetting a per-read timeout forever."""
    deadline = time.monotonic() + deadline_s
    try:
        response = requests.get(url, params=params, stream=True, timeout=(deadline_s, deadline_s),
                                headers={"Accept-Encoding": "identity"})
    except requests.Timeout as exc:
        raise PrometheusError(f"no answer within {deadline_s:g} s") from exc
    except requests.RequestException as exc:
        raise PrometheusError(f"unreachable ({type(exc).__name__})") from exc
    body = bytearray()
    with response:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise PrometheusError(f"no complete answer within {deadline_s:g} s "
                                      f"({len(body)} bytes received)")
            connection = response.raw.connection
            sock = getattr(connection, "sock", None) if connection is not None else None
            if sock is not None:
                sock.settimeout(remaining)
            try:
                chunk = response.raw.read1(65536)
            except (Urllib3Error, OSError) as exc:
                if time.monotonic() >= deadline:
                    raise PrometheusError(f"no complete answer within {deadline_s:g} s "
                                          f"({len(body)} bytes received)") from exc
                raise PrometheusError(f"the connection closed after {len(body)} bytes "
                                      f"({type(exc).__name__})") from exc
            if not chunk:
                return response.status_code, bytes(body)
            body += chunk
            if len(body) > MAX_ANSWER_BYTES:
                raise PrometheusError(f"answered more than {MAX_ANSWER_BYTES} bytes: not an "
                                      "instant query's answer")


def _answer_data(body: bytes, status: int, promql: str) -> dict[str, Any]:
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise PrometheusError(f"Prometheus answered {status} with something that is not "
                              f"JSON for `{promql}`") from exc
    if not isinstance(answer, dict):
        raise PrometheusError(f"Prometheus answered `{promql}` with a JSON "
                              f"{_json_kind(answer)} instead of an object")
    if status != 200 or answer.get("status") != "success":
        raise PrometheusError(f"Prometheus rejected `{promql}` ({status}): "
                              f"{answer.get('error', 'no error message')}")
    data = answer.get("data")
    if not isinstance(data, dict):
        raise PrometheusError(f"Prometheus answered `{promql}` without a data object")
    return data


def _json_kind(value: object) -> str:
    return {list: "array", str: "string", int: "number", float: "number", bool: "boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


@dataclass(frozen=True)
class _ValueCheck:
    promql: str
    oldest: float
    newest: float

    def value(self, pair: object) -> float:
        """[timestamp, "value"] -> the value, or PrometheusError saying what is wrong."""
        if not (isinstance(pair, list) and len(pair) == 2):
            raise PrometheusError(f"Prometheus answered `{self.promql}` with a sample that is "
                                  f"not [time, value]: {str(pair)[:80]}")
        stamp, text = pair
        try:
            value, at = float(text), float(stamp)
        except (TypeError, ValueError) as exc:
            raise PrometheusError(f"Prometheus answered `{self.promql}` with {text!r}: not a "
                                  "number") from exc
        if math.isnan(value):
            return value
        if math.isinf(value):
            raise PrometheusError(f"Prometheus answered `{self.promql}` with {text}: not a "
                                  "finite number")
        if value < 0:
            raise PrometheusError(f"Prometheus answered `{self.promql}` with {value:g}: a "
                                  "count, rate or duration is never negative")
        if not self.oldest <= at <= self.newest:
            when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at)) if at > 0 else str(at)
            raise PrometheusError(f"Prometheus answered `{self.promql}` with a sample stamped "
                                  f"{when}, outside the query's window")
        return value

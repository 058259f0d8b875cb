"""Reading the production-only signals from Prometheus: the HTTP API queried with a
timeout, and every query actually sent kept for the evidence."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import requests


class PrometheusError(RuntimeError):
    """Prometheus could not answer: unreachable, timed out, or the query failed."""


@dataclass
class PrometheusClient:
    url: str
    timeout_s: float = 5.0
    sent: list[str] = field(default_factory=list)

    def query(self, promql: str) -> tuple[float | None, dict[str, str]]:
        """The instant query's value (the largest series when several come back, with its
        labels), or None when the result is empty."""
        self.sent.append(promql)
        endpoint = self.url.rstrip("/") + "/api/v1/query"
        try:
            response = requests.get(endpoint, params={"query": promql},
                                    timeout=(self.timeout_s, self.timeout_s))
        except requests.RequestException as exc:
            raise PrometheusError(f"Prometheus at {self.url} is unreachable: "
                                  f"{type(exc).__name__}") from exc
        try:
            body = response.json()
        except ValueError as exc:
            raise PrometheusError(f"Prometheus at {self.url} answered {response.status_code} "
                                  "with something that is not JSON") from exc
        if response.status_code != 200 or body.get("status") != "success":
            raise PrometheusError(f"Prometheus rejected the query ({response.status_code}): "
                                  f"{body.get('error', 'no error message')}")
        data = body.get("data", {})
        if data.get("resultType") == "scalar":
            return _number(data["result"][1]), {}
        best: tuple[float, dict[str, str]] | None = None
        for series in data.get("result", []):
            value = _number(series["value"][1])
            if math.isnan(value):
                continue
            if best is None or value > best[0]:
                best = (value, dict(series.get("metric", {})))
        return (best[0], best[1]) if best else (None, {})

    def healthy(self) -> bool:
        try:
            response = requests.get(self.url.rstrip("/") + "/-/ready", timeout=self.timeout_s)
        except requests.RequestException:
            return False
        return response.status_code == 200


def _number(text: str) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):
        return math.nan

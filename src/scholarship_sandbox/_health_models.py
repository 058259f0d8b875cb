"""The health endpoints' response models, so FastAPI's OpenAPI documents their shapes.

Kept apart from health.py because plain Starlette services do not need pydantic.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class HealthOut(BaseModel):
    status: Literal["ok"]
    build_id: str
    git_sha: str = Field(pattern=r"^[0-9a-f]{7,40}$")
    uptime_seconds: float = Field(ge=0)
    cohort: Literal["canary", "control", "sandbox"]


class CheckOk(BaseModel):
    status: Literal["ok"]
    latency_ms: float = Field(ge=0)


class CheckFail(BaseModel):
    status: Literal["fail"]
    error: str


class ReadyOut(BaseModel):
    status: Literal["ready"]
    checks: dict[str, CheckOk]


class NotReadyProblem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    request_id: str
    checks: dict[str, CheckOk | CheckFail]


def add_documented_routes(app: Any, slo: Any) -> None:
    problem = {"model": NotReadyProblem, "content": {"application/problem+json": {}},
               "description": "a dependency fails"}
    app.add_api_route("/health", slo.health, methods=["GET"], response_model=HealthOut,
                      tags=["health"], summary="Liveness")
    app.add_api_route("/ready", slo.ready, methods=["GET"], response_model=ReadyOut,
                      responses={503: problem}, tags=["health"], summary="Readiness")
    app.add_api_route("/metrics", slo.metrics, methods=["GET"], tags=["health"],
                      summary="Prometheus exposition",
                      responses={200: {"content": {"text/plain": {}}, "description": "metrics"}})

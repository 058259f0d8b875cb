"""The OpenTelemetry resource of a run, and the attributes every span and metric point shares.

service.name defaults to scholarshipai-synthetics; OTEL_SERVICE_NAME and
OTEL_RESOURCE_ATTRIBUTES override it and anything else set here.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from opentelemetry.sdk.resources import OTELResourceDetector, Resource

from synthmon.run_context import RunContext

DEFAULT_SERVICE_NAME = "scholarshipai-synthetics"


def synthmon_version() -> str:
    try:
        return metadata.version("synthmon")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0+unknown"


def run_attributes(ctx: RunContext | None) -> dict[str, Any]:
    """Tags on every span and metric point: who ran this against which build, for what."""
    if ctx is None:
        return {"canary": True}
    return {
        "canary": True,
        "cohort": ctx.cohort,
        "region": ctx.region,
        "device": ctx.device,
        "build_id": ctx.build_id,
        "git_sha": ctx.git_sha,
        "synthmon.run.id": ctx.run_id,
    }


# Metric series are keyed by these only (plus the instrument's own attributes): the run id
# and per-request synthetic ids would make every point its own series, so they travel as
# exemplar attributes instead (see docs/telemetry.md).
METRIC_RUN_KEYS = frozenset({"canary", "cohort", "region", "device", "build_id", "git_sha"})


def build_resource(ctx: RunContext | None, worker_id: str) -> Resource:
    run_id = ctx.run_id if ctx else "unknown"
    attributes: dict[str, Any] = {
        "service.name": DEFAULT_SERVICE_NAME,
        "service.version": synthmon_version(),
        "service.namespace": "scholarshipai",
        # one per process: xdist workers export cumulative metrics side by side, and a
        # backend must not mistake two workers' counters for one counter resetting.
        "service.instance.id": f"{run_id}/{worker_id}",
        "deployment.environment.name": ctx.environment if ctx else "unknown",
        "synthmon.run.id": run_id,
        "synthmon.worker": worker_id,
    }
    # Resource.create lets our attributes win over the environment's; the operator's
    # OTEL_RESOURCE_ATTRIBUTES and OTEL_SERVICE_NAME must win over ours, so merge them last.
    return Resource.create(attributes).merge(OTELResourceDetector().detect())

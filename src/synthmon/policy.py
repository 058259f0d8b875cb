"""canary-policy.yaml: loading it, and typed access to the parts every stage reads.

The policy is the single source of truth; code never repeats a threshold it holds.
Where it is found: the explicit path, else $SYNTH_POLICY, else ./canary-policy.yaml.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from synthmon import durations
from synthmon.json_schema import Draft202012Validator, ValidationError, best_match
from synthmon.promql_templates import render, route_regex
from synthmon.schema_defaults import with_defaults

DEFAULT_POLICY_FILE = "canary-policy.yaml"
SCHEMA_FILE = "canary-policy.schema.json"


class PolicyError(ValueError):
    """The policy file is missing or malformed; the message names the field and the reason."""


@dataclass(frozen=True, slots=True)
class Budget:
    budget_ms: float
    hard_limit_ms: float
    critical: bool


@dataclass(frozen=True, slots=True)
class Criterion:
    """One rollback criterion, exactly as the policy states it."""

    id: str
    title: str
    source: str  # synthetic | prometheus
    metric: str
    comparison: str  # absolute | relative_to_control | relative_to_baseline | percentage_points
    threshold: float
    unit: str
    min_samples: int
    promql: dict[str, str]
    # Independent suite runs per cohort a run-level test needs (0: not a run-level test).
    min_runs: int
    # Suite markers whose checks and routes are this criterion's only data: a phase whose
    # scope excludes them all cannot judge it (not applicable there, with the reason).
    markers: tuple[str, ...]
    # Roll back as soon as the bound clears the threshold, before min_samples (the minimum
    # then guards only the go): for availability, where a dead canary must not wait.
    early_rollback: bool

    def query(self, part: str, cohort: str, window: str, route: str) -> str:
        """One of the criterion's PromQL parts (numerator, denominator, value, count) for
        one cohort over one window: what the gate asks Prometheus and the rules record."""
        return render(self.promql[part], cohort, window, route)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Criterion:
        """From a criterion of a loaded policy, whose defaults the schema filled in."""
        return cls(
            id=data["id"], title=data["title"], source=data["source"], metric=data["metric"],
            comparison=data["comparison"], threshold=float(data["threshold"]), unit=data["unit"],
            min_samples=int(data["min_samples"]), promql=dict(data["promql"]),
            min_runs=int(data["min_runs"]), markers=tuple(data["markers"]),
            early_rollback=bool(data["early_rollback"]),
        )


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy: valid against its schema, with the schema's defaults filled in, so
    every optional setting is present and no stage keeps a default of its own."""

    path: Path
    data: dict[str, Any]

    @property
    def client(self) -> dict[str, Any]:
        return dict(self.data["client"])

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        return dict(self.data["targets"])

    def budget(self, method: str, route: str) -> Budget:
        """The endpoint's own budget, else the default one."""
        budgets = self.data["budgets"]
        entry = budgets["endpoints"].get(f"{method.upper()} {route}", budgets["default"])
        return Budget(budget_ms=float(entry["budget_ms"]),
                      hard_limit_ms=float(entry["hard_limit_ms"]),
                      critical=bool(entry["critical"]))

    def phase(self, name: str) -> dict[str, Any]:
        phases = self.data["phases"]
        if name not in phases:
            raise PolicyError(f"phases.{name}: no such phase (known: {', '.join(phases)})")
        return dict(phases[name])

    # --- the gate's view -------------------------------------------------------------
    @property
    def gate(self) -> dict[str, Any]:
        return dict(self.data["gate"])

    @property
    def criteria(self) -> list[Criterion]:
        return [Criterion.from_dict(c) for c in self.data["criteria"]]

    def criterion(self, criterion_id: str) -> Criterion:
        for criterion in self.criteria:
            if criterion.id == criterion_id:
                return criterion
        raise PolicyError(f"criteria: no criterion with id {criterion_id!r}")

    @property
    def window_s(self) -> float:
        return durations.parse(self.data["window"])

    @property
    def slo_availability(self) -> float:
        return float(self.data["slo"]["availability"])

    @property
    def latency_slo_ms(self) -> float:
        return float(self.data["slo"]["latency_p95_ms"])

    @property
    def error_budget_period_s(self) -> float:
        return durations.parse(self.data["slo"]["error_budget_period"])

    @property
    def approvals(self) -> list[str]:
        return list(self.data["approvals"])

    def gate_stale_after_s(self, interval_s: float | None = None) -> float:
        """How old gate serve's last evaluation may get before its verdict is no longer the
        gate's word: gate.stale_intervals evaluation intervals (the policy's, or the given
        --interval) plus one suite run's timeout, which an evaluation may wait for."""
        gate = self.data["gate"]
        every = float(gate["watch_interval_s"]) if interval_s is None else interval_s
        return int(gate["stale_intervals"]) * every + float(gate["run_timeout_s"])

    def critical_endpoints(self) -> list[str]:
        """'METHOD /route' of every endpoint the budgets mark critical."""
        endpoints = self.data["budgets"]["endpoints"]
        return [name for name, entry in endpoints.items() if entry["critical"]]

    def p95_limits_ms(self, threshold_ms: float) -> dict[str, float]:
        """'METHOD /route' -> the P95 a critical endpoint must stay under: the critical-latency
        criterion's threshold, or the endpoint's own budget_ms where that is larger (login and
        signup hash passwords). The policy states both; the larger one is the promise. The
        gate judges by it and the rules page by it, so the two cannot disagree."""
        return {endpoint: max(threshold_ms, self.budget(*endpoint.split(" ", 1)).budget_ms)
                for endpoint in self.critical_endpoints()}

    def critical_route_regex(self) -> str:
        """What `{route}` in the criteria's PromQL stands for: the critical routes."""
        return route_regex(endpoint.split(" ", 1)[1] for endpoint in self.critical_endpoints())


def find_policy_file(path: str | os.PathLike[str] | None = None) -> Path:
    candidate = Path(path or os.environ.get("SYNTH_POLICY") or DEFAULT_POLICY_FILE)
    if not candidate.is_file():
        raise PolicyError(
            f"{candidate}: policy file not found (pass --policy or set SYNTH_POLICY)"
        )
    return candidate.resolve()


def load_policy(path: str | os.PathLike[str] | None = None) -> Policy:
    return _load(find_policy_file(path))


_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def _load(path: Path) -> Policy:
    try:
        # libyaml's parser where PyYAML was built with it: the same documents, 3x faster
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{path}: not UTF-8 text (byte {exc.start} is "
                          f"{exc.object[exc.start]:#04x}); save the policy as UTF-8") from exc
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read the policy: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        raise PolicyError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise PolicyError(f"{path}: the policy must be a mapping at the top level")
    return Policy(path=path, data=validate_policy_data(data, source=str(path)))


# The schema this source tree ships: meta-validated by a selftest
# (selftests/suite/test_schema_store.py), so a load need not check it again (that check was
# half the time of every load, and every suite run loads the policy first).
SHIPPED_SCHEMA = Path(__file__).resolve().parents[2] / "schemas" / SCHEMA_FILE


def find_schema_file(policy_path: Path | None = None) -> Path:
    """The schema beside the policy (schemas/), else the one in this source tree."""
    candidates = []
    if policy_path is not None:
        candidates.append(policy_path.parent / "schemas" / SCHEMA_FILE)
    candidates.append(SHIPPED_SCHEMA)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise PolicyError(f"{SCHEMA_FILE}: policy schema not found (looked in "
                      + ", ".join(str(c.parent) for c in candidates) + ")")


@cache
def _schema(schema_path: Path) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(schema_path.read_text(encoding="utf-8"))
    if schema_path.resolve() != SHIPPED_SCHEMA:  # one beside a policy of one's own
        Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator(schema_path: Path) -> Draft202012Validator:
    return Draft202012Validator(_schema(schema_path))


def _field_name(data: dict[str, Any], path: list[Any]) -> str:
    """criteria[3] (http_5xx_rate).threshold: a path a human finds in the YAML."""
    name = ""
    node: Any = data  # the YAML below the path so far, or None once the path leaves it
    for part in path:
        if isinstance(part, int):
            name += f"[{part}]"
            node = node[part] if isinstance(node, list) and part < len(node) else None
            if isinstance(node, dict) and "id" in node:
                name += f" ({node['id']})"
        else:
            name += f".{part}" if name else str(part)
            node = node.get(part) if isinstance(node, dict) else None
    return name or "(top level)"


def _unknown_key(error: ValidationError) -> str:
    """'unknown key 'windw' (did you mean 'window'?)', from an additionalProperties error."""
    known = list(error.schema.get("properties", {})) if isinstance(error.schema, dict) else []
    instance = error.instance if isinstance(error.instance, dict) else {}
    extras = [str(key) for key in instance if key not in known]
    key = extras[0] if extras else "?"
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.6)
    hint = (f"did you mean {close[0]!r}?" if close
            else f"known keys: {', '.join(known) or 'none'}")
    return f"unknown key {key!r} ({hint})"


def validate_policy_data(data: dict[str, Any], source: str = "policy",
                         policy_path: Path | None = None) -> dict[str, Any]:
    """`data` with the schema's defaults filled in (a copy); PolicyError naming the field
    and the reason when it breaks the schema, or when criteria ids repeat (something JSON
    Schema cannot say). Errors name what the file says, before anything is filled in."""
    schema_path = find_schema_file(policy_path or Path(source))
    validator = _validator(schema_path)
    errors = list(validator.iter_errors(data))
    # A typo in a key is the likeliest cause of the rest (its 'required' error, say): first.
    unknown = sorted((e for e in errors if e.validator == "additionalProperties"),
                     key=lambda e: [str(p) for p in e.absolute_path])
    if unknown:
        field = _field_name(data, list(unknown[0].absolute_path))
        raise PolicyError(f"{source}: {field}: {_unknown_key(unknown[0])}")
    error = best_match(errors)
    if error is not None:
        field = _field_name(data, list(error.absolute_path))
        raise PolicyError(f"{source}: {field}: {error.message}")
    seen: set[str] = set()
    for index, criterion in enumerate(data["criteria"]):
        if criterion["id"] in seen:
            raise PolicyError(f"{source}: criteria[{index}].id: {criterion['id']!r} is used twice")
        seen.add(criterion["id"])
    try:
        return with_defaults(_schema(schema_path), data)
    except ValueError as exc:
        raise PolicyError(f"{schema_path}: {exc}") from exc

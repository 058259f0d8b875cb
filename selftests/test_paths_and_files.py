"""Bad paths and bad files, as a user meets them: a path under a file, a folder that does
not exist, a policy that is not UTF-8 or has a key nobody knows, a history store that is
empty or someone else's. Each is one sentence naming the path (or key), a non-zero exit,
no traceback, and nothing created or written that the user did not ask for."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from synthmon.cli import main
from synthmon.history import HistoryStore
from synthmon.policy import PolicyError, load_policy
from synthmon.run_context import RunContext

REPO = Path(__file__).resolve().parents[1]


def synthmon(*args: str) -> tuple[int, str]:
    done = CliRunner().invoke(main, list(args))
    return done.exit_code, done.output


def _no_traceback(output: str) -> None:
    assert "Traceback" not in output and "INTERNALERROR" not in output, output


@pytest.fixture
def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a-file"
    path.write_text("not a folder\n")
    return path


# --- unwritable output paths ---------------------------------------------------------------
def test_rules_out_under_a_file_is_a_sentence(a_file: Path) -> None:
    code, output = synthmon("rules", f"--out={a_file}/rules.yml")
    assert code == 1
    assert f"cannot write the rule file {a_file}/rules.yml: {a_file} is a file, not a folder" \
        in output
    _no_traceback(output)


def test_rules_out_in_a_missing_folder_creates_nothing(tmp_path: Path) -> None:
    code, output = synthmon("rules", f"--out={tmp_path}/no/such/rules.yml")
    assert code == 1 and f"its folder {tmp_path}/no/such does not exist" in output
    assert not (tmp_path / "no").exists()
    _no_traceback(output)


def _approve(ledger: Path, *extra: str) -> tuple[int, str]:
    return synthmon("approve", "--phase", "5", "--role", "sre", "--name", "Ada",
                    f"--ledger={ledger}", "--policy", str(REPO / "canary-policy.yaml"), *extra)


def test_approve_writes_only_into_a_folder_that_exists(tmp_path: Path) -> None:
    ledger = tmp_path / "ship-room" / "approvals.jsonl"
    code, output = _approve(ledger)
    assert code == 1
    assert (f"cannot write the approvals ledger {ledger}: its folder {ledger.parent} does not "
            "exist (create it, or pass --create-dirs)") in output
    assert not ledger.parent.exists(), "a folder nobody asked for was created"
    _no_traceback(output)
    code, output = _approve(ledger, "--create-dirs")
    assert code == 0, output
    assert ledger.read_text().count("\n") == 1


def test_approve_under_a_file_is_a_sentence(a_file: Path) -> None:
    code, output = _approve(a_file / "approvals.jsonl", "--create-dirs")
    assert code == 1 and f"{a_file}" in output and "cannot write the approvals ledger" in output
    _no_traceback(output)


def test_baseline_out_under_a_file_is_refused_before_any_traffic(a_file: Path) -> None:
    # the target does not exist: a refusal that came after the probe would name it instead
    code, output = synthmon("baseline", "--target", "http://127.0.0.1:9",
                            f"--out={a_file}/baseline")
    assert code == 2 and f"cannot write the baseline there: {a_file} is a file" in output
    _no_traceback(output)


def test_pytest_reports_dir_under_a_file_is_a_usage_error(a_file: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"--reports-dir={a_file}/reports", "tests/synthetic/test_health.py"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    output = done.stdout + done.stderr
    assert done.returncode == 4, output
    assert (f"--reports-dir={a_file}/reports: cannot write the reports there: {a_file} is a "
            "file, not a folder") in output
    _no_traceback(output)


# --- the policy file -------------------------------------------------------------------------
def _policy_copy(tmp_path: Path, data: dict[str, Any] | None = None,
                 raw: bytes | None = None) -> Path:
    path = tmp_path / "canary-policy.yaml"
    if raw is not None:
        path.write_bytes(raw)
    else:
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    shutil.copytree(REPO / "schemas", tmp_path / "schemas", dirs_exist_ok=True)
    return path


def _shipped() -> dict[str, Any]:
    return yaml.safe_load((REPO / "canary-policy.yaml").read_text(encoding="utf-8"))


def test_a_policy_that_is_not_utf8_is_a_sentence(tmp_path: Path) -> None:
    text = (REPO / "canary-policy.yaml").read_text(encoding="utf-8")
    path = _policy_copy(tmp_path, raw=text.replace("# The single", "# Th\xe9 single", 1)
                        .encode("latin-1"))
    with pytest.raises(PolicyError, match=r"not UTF-8 text \(byte \d+ is 0xe9\); save the "
                                          r"policy as UTF-8"):
        load_policy(path)
    code, output = synthmon("rules", "--policy", str(path))
    assert code == 1 and f"{path}: not UTF-8 text" in output
    _no_traceback(output)


@pytest.mark.parametrize(("mutate", "message"), [
    (lambda d: d.__setitem__("windw", d.pop("window")),
     "(top level): unknown key 'windw' (did you mean 'window'?)"),
    (lambda d: d.__setitem__("thresholds", {}),
     "(top level): unknown key 'thresholds' (known keys: version, targets, client"),
    (lambda d: d["gate"].__setitem__("rate_bond", d["gate"].pop("rate_bound")),
     "gate: unknown key 'rate_bond' (did you mean 'rate_bound'?)"),
    (lambda d: d["client"].__setitem__("read_timeout", 5),
     "client: unknown key 'read_timeout' (did you mean 'read_timeout_s'?)"),
    (lambda d: d["slo"].__setitem__("availabilty", 0.99),
     "slo: unknown key 'availabilty' (did you mean 'availability'?)"),
    (lambda d: d["criteria"][0].__setitem__("treshold", 0.01),
     "criteria[0] (http_5xx_rate): unknown key 'treshold' (did you mean 'threshold'?)"),
    (lambda d: d["budgets"]["endpoints"]["GET /health"].__setitem__("hard_limit", 9),
     "budgets.endpoints.GET /health: unknown key 'hard_limit' (did you mean 'hard_limit_ms'?)"),
    (lambda d: d["targets"]["canary"].__setitem__("regoin", "eu"),
     "targets.canary: unknown key 'regoin' (did you mean 'region'?)"),
])
def test_an_unknown_key_names_itself_and_the_closest_known(tmp_path: Path, mutate: Any,
                                                           message: str) -> None:
    data = _shipped()
    mutate(data)
    with pytest.raises(PolicyError) as info:
        load_policy(_policy_copy(tmp_path, data))
    assert message in str(info.value)


def test_every_object_of_the_policy_schema_is_closed() -> None:
    import json

    schema = json.loads((REPO / "schemas" / "canary-policy.schema.json").read_text())
    open_objects = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and node.get("additionalProperties", True) is True:
                open_objects.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(value, f"{where}[{index}]")

    walk(schema, "")
    # `if`/`then` branches add a condition to properties their object already closes.
    assert [w for w in open_objects if not w.endswith(("/if", "/then"))] == []


# --- the history store -----------------------------------------------------------------------
def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _foreign_sqlite(path: Path) -> Path:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE invoices (id INTEGER PRIMARY KEY, total REAL)")
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda p: p.write_bytes(b""), "is empty, not a synthmon history store"),
    (lambda p: p.write_text("id,total\n1,2\n"), "is not a synthmon history store (not an "
                                                "SQLite database)"),
    (_foreign_sqlite, "is not a synthmon history store (an SQLite database with tables "
                      "invoices)"),
])
def test_history_refuses_a_file_that_is_not_a_store_and_leaves_it_alone(
        tmp_path: Path, make: Any, message: str) -> None:
    db = tmp_path / "history.sqlite"
    make(db)
    before = _digest(db)
    code, output = synthmon("history", f"--db={db}", "--since", "1h")
    assert code == 1 and f"{db} {message}" in output, output
    _no_traceback(output)
    code, output = synthmon("history", f"--db={db}", "--prune")
    assert code == 1 and message in output
    assert _digest(db) == before, "the file was written to"
    assert not (tmp_path / "history.sqlite-wal").exists()


def test_a_writer_refuses_someone_elses_database_but_starts_an_empty_file(
        tmp_path: Path) -> None:
    from synthmon.history import HistoryError

    ctx = RunContext(run_id="r1", target="http://127.0.0.1:1", target_name="url",
                     cohort="canary", region="local", device="desktop", build_id="b",
                     git_sha="abc1234", environment="sandbox", started_at=time.time())
    foreign = _foreign_sqlite(tmp_path / "invoices.sqlite")
    with pytest.raises(HistoryError, match="not a synthmon history store"):
        HistoryStore(foreign).append(ctx, [])
    with sqlite3.connect(foreign) as conn:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
    assert tables == {"invoices"}
    empty = tmp_path / "new.sqlite"
    empty.write_bytes(b"")  # as a concurrent writer leaves it for an instant
    HistoryStore(empty).append(ctx, [])
    assert [r.run_id for r in HistoryStore(empty).runs()] == ["r1"]

"""The human go: `synthmon approve` appends one JSON line per approval to a ledger; the
gate's go for a phase lists the roles that have not yet said go."""

from __future__ import annotations

import getpass
import json
import os
import time
from pathlib import Path
from typing import Any

import click

from synthmon.policy import PolicyError, load_policy

ROLES = ("sre", "eng", "pm")


def ledger_path(policy_path: str | None = None, ledger: str | None = None) -> Path:
    if ledger:
        return Path(ledger)
    policy = load_policy(policy_path)
    return Path(policy.gate["approvals_ledger"])


class LedgerError(OSError):
    """The ledger cannot be written: the message names the path and why."""


def append_approval(path: Path, phase: str, role: str, name: str, note: str = "",
                    build_id: str = "", recorded_via: str = "synthmon approve",
                    create_dirs: bool = False) -> dict[str, Any]:
    """Append one approval; the ledger's folder must exist unless `create_dirs` (nothing
    makes folders nobody asked for: a typo in a path must not grow a tree)."""
    entry = {"phase": phase, "role": role, "name": name, "note": note, "build_id": build_id,
             "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
             "recorded_by": getpass.getuser(), "recorded_via": recorded_via}
    folder = path.parent
    try:
        if create_dirs:
            folder.mkdir(parents=True, exist_ok=True)
        elif not folder.is_dir():
            raise LedgerError(f"cannot write the approvals ledger {path}: its folder {folder} "
                              "does not exist (create it, or pass --create-dirs)")
        # One write() of one line with O_APPEND: concurrent approvers cannot interleave.
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
        finally:
            os.close(fd)
    except LedgerError:
        raise
    except OSError as exc:
        raise LedgerError(f"cannot write the approvals ledger {path}: "
                          f"{exc.strerror or exc}") from exc
    return entry


def read_ledger(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else exc.strerror
        raise click.ClickException(f"cannot read the approvals ledger {path}: {reason}") from exc
    entries = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            entries.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise click.ClickException(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
    return entries


def approval_status(path: Path, phase: str, required: list[str],
                    build_id: str | None = None) -> dict[str, Any]:
    """Who approved this phase (of this build, when one is given) and who is missing."""
    given = {}
    for entry in read_ledger(path):
        if str(entry.get("phase")) != phase:
            continue
        if build_id and entry.get("build_id") and entry["build_id"] != build_id:
            continue
        given[entry["role"]] = {"name": entry.get("name"), "at": entry.get("at")}
    return {"ledger": str(path), "required": required, "given": given,
            "missing": [role for role in required if role not in given]}


@click.command("approve")
@click.option("--phase", required=True, help="The phase being approved: 5, 25, 50, bake, 100.")
@click.option("--role", required=True, type=click.Choice(ROLES), help="Who says go.")
@click.option("--name", required=True, help="The approver's name.")
@click.option("--note", default="", help="Optional: what the approval rests on.")
@click.option("--build-id", default="", help="Optional: the canary build this go is for.")
@click.option("--ledger", default=None,
              help="Ledger file (default: gate.approvals_ledger); its folder must exist.")
@click.option("--create-dirs", is_flag=True,
              help="Create the ledger's folder (and its parents) when it does not exist.")
@click.option("--policy", "policy_path", default=None, help="canary-policy.yaml to use.")
def approve_command(phase: str, role: str, name: str, note: str, build_id: str,
                    ledger: str | None, create_dirs: bool, policy_path: str | None) -> None:
    """Record a human go for a phase in the approvals ledger (JSON lines)."""
    try:
        policy = load_policy(policy_path)
        policy.phase(phase)
    except PolicyError as exc:
        raise click.ClickException(str(exc)) from exc
    if not name.strip():
        raise click.BadParameter("an approval needs a name", param_hint="--name")
    path = ledger_path(policy_path, ledger)
    try:
        append_approval(path, phase, role, name.strip(), note, build_id,
                        create_dirs=create_dirs)
    except LedgerError as exc:
        raise click.ClickException(str(exc)) from exc
    status = approval_status(path, phase, policy.approvals, build_id or None)
    click.echo(f"recorded: phase {phase} go from {role} ({name}) in {path}")
    click.echo("still missing: " + (", ".join(status["missing"]) or "none"))

"""How the gate fails: one sentence and its own exit code, never a traceback.

The gate's exits are 0 go, 1 rollback, 2 hold and 3 "could not evaluate". Click's usage
errors (a bad option, a bad value) exit 2 by default, which is the gate's hold: every gate
command turns them into 3 as well. Anything unexpected becomes a sentence and exit 3; its
traceback goes to a debug log whose path the sentence gives. Where `--out` is known, a
decision.json with verdict `error` replaces whatever an earlier evaluation left there."""

from __future__ import annotations

import os
import tempfile
import time
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import click

from synthmon.gate.model import EXIT_ERROR, Decision

DEBUG_LOG = "gate-debug.log"
_OUT_KEY = "synthmon.gate.out"
_RECORDED_KEY = "synthmon.gate.failure_recorded"


class GateError(click.ClickException):
    """The gate could not evaluate; the message says why."""

    exit_code = EXIT_ERROR

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"synthmon gate: could not evaluate: {self.message} (exit {EXIT_ERROR})",
                   err=True)


class GateUsageError(click.UsageError):
    """A usage error of a gate command: exit 3, since click's own 2 is the gate's hold."""

    exit_code = EXIT_ERROR

    @classmethod
    def of(cls, exc: click.UsageError, suffix: str = "") -> GateUsageError:
        return cls(exc.format_message() + suffix, exc.ctx)


def write_debug_log(exc: BaseException, out_dir: Path | None) -> Path:
    """The traceback, appended to gate-debug.log in the output folder (or, when there is
    none yet, a file in the temporary directory); returns where it went."""
    text = (f"--- {time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} pid {os.getpid()}\n"
            + "".join(traceback.format_exception(exc)))
    if out_dir is not None:
        try:
            out_dir.mkdir(parents=True, exist_ok=True)
            path = out_dir / DEBUG_LOG
            with path.open("a", encoding="utf-8") as log:
                log.write(text)
            return path
        except OSError:
            pass
    fd, name = tempfile.mkstemp(prefix="synthmon-gate-", suffix=".log")
    with os.fdopen(fd, "w", encoding="utf-8") as log:
        log.write(text)
    return Path(name)


def describe(exc: BaseException, out_dir: Path | None) -> str:
    """An unexpected exception as a sentence naming where its traceback is."""
    log = write_debug_log(exc, out_dir)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else "no message"
    return f"internal error {type(exc).__name__}: {detail} (traceback in {log})"


def write_failed_decision(out_dir: Path | None, phase: str, reason: str) -> Path | None:
    """decision.json/.md with verdict `error`, so no earlier verdict stays behind in
    --out looking current. Returns the JSON path, or None when there is nowhere to write."""
    if out_dir is None:
        return None
    from synthmon.gate.report import write_decision

    try:
        json_path, _md = write_decision(Decision.failed(phase, reason), out_dir)
    except OSError:
        return None
    return json_path


def _option_value(args: Sequence[str], name: str) -> str | None:
    """The value of `name` in raw arguments (`--out X` or `--out=X`), the last one winning:
    a usage error stops click before it has read the options, but --out is still known."""
    value = None
    for i, arg in enumerate(args):
        if arg == name and i + 1 < len(args):
            value = args[i + 1]
        elif arg.startswith(name + "="):
            value = arg[len(name) + 1:]
    return value


class _Failsafe(click.Command):
    """Mixed into the gate's click commands: usage errors and crashes exit 3 with a sentence.
    A Command itself, so that super() is the command it is mixed into (Command or Group)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        raw = list(args)
        try:
            return super().parse_args(ctx, args)
        except GateUsageError:
            raise
        except click.UsageError as exc:
            out = _option_value(raw, "--out")
            if out and not ctx.resilient_parsing:
                write_failed_decision(Path(out), _option_value(raw, "--phase") or "?",
                                      f"usage error: {exc.format_message()}")
            raise GateUsageError.of(exc, f" (could not evaluate: exit {EXIT_ERROR})") from exc

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.Exit, click.Abort, SystemExit, KeyboardInterrupt):
            raise
        except click.UsageError as exc:
            self._record(ctx, f"usage error: {exc.format_message()}")
            if isinstance(exc, GateUsageError):
                raise
            raise GateUsageError.of(exc) from exc
        except click.ClickException as exc:
            self._record(ctx, exc.format_message())
            if isinstance(exc, GateError):
                raise
            raise GateError(exc.format_message()) from exc
        except Exception as exc:
            reason = describe(exc, ctx.meta.get(_OUT_KEY))
            self._record(ctx, reason)
            raise GateError(reason) from exc

    @staticmethod
    def _record(ctx: click.Context, reason: str) -> None:
        if not ctx.meta.get(_RECORDED_KEY):
            ctx.meta[_RECORDED_KEY] = True  # once: the group sees its subcommand's error too
            write_failed_decision(ctx.meta.get(_OUT_KEY), str(ctx.params.get("phase") or "?"),
                                  reason)


class GateCommand(_Failsafe, click.Command):
    pass


class GateGroup(_Failsafe, click.Group):
    pass


def remember_out(out_dir: Path) -> None:
    """Tell the failsafe where this evaluation writes, for the decision of a crash."""
    click.get_current_context().meta[_OUT_KEY] = out_dir

"""The performance baseline (`synthmon baseline`): P50/P95/P99 per critical endpoint."""

from synthmon.baseline.command import baseline_command
from synthmon.baseline.report import build_baseline, to_markdown, write_reports
from synthmon.baseline.stats import summarize

__all__ = ["baseline_command", "build_baseline", "summarize", "to_markdown", "write_reports"]

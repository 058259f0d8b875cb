"""The performance baseline (`synthmon baseline`): P50/P95/P99 per critical endpoint.

The figures (synthmon.baseline.report, .stats) load numpy, scipy and matplotlib: imported
where used, so that `synthmon baseline --help` and a quick "target unreachable" stay fast.
"""

from synthmon.baseline.command import baseline_command

__all__ = ["baseline_command"]

"""The embedded ScholarshipAI sandbox: the reference API the monitor runs against.

Nothing outside `synthmon sandbox` imports it; everyone else starts it as a process.
"""

from .app import create_app
from .faults import FaultSpecError, parse_spec
from .settings import RateLimits, Settings

__all__ = ["FaultSpecError", "RateLimits", "Settings", "create_app", "parse_spec"]

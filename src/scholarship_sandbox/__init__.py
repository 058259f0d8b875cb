"""The embedded ScholarshipAI sandbox: the reference API the monitor runs against.

Nothing outside `synthmon sandbox` imports it; everyone else starts it as a process.
"""

from .app import create_app
from .faults import CERTIFICATE_KINDS, FaultSpecError, parse_spec
from .settings import RateLimits, Settings, TlsSettings

__all__ = ["CERTIFICATE_KINDS", "FaultSpecError", "RateLimits", "Settings", "TlsSettings",
           "create_app", "parse_spec"]

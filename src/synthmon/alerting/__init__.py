"""From a detection to a person: the policy's `alerting:` section, read once, as the
Alertmanager configuration (`synthmon alertmanager`) and the synthetic monitor's alert names
the Prometheus rules raise."""

from synthmon.alerting.alertmanager import build_config, endpoints
from synthmon.alerting.settings import AlertingSettings, read_alerting

__all__ = ["AlertingSettings", "build_config", "endpoints", "read_alerting"]

"""The canary policy as Prometheus recording and alerting rules (`synthmon rules`)."""

from synthmon.rules.build import alerts_of, build_rules, to_yaml
from synthmon.rules.command import rules_command

__all__ = ["alerts_of", "build_rules", "rules_command", "to_yaml"]

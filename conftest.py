"""Suite-level fixtures for the synthetic checks in tests/.

The machinery (target, api client, schemas, budgets, telemetry) lives in the synthmon
pytest plugin (src/synthmon/plugin.py, registered through the pytest11 entry point);
this file holds only what is particular to this suite.
"""

"""Helpers shared by every selftest area (selftests/conftest.py puts selftests/ on sys.path)."""

"""YAML as a person would write it: multi-line strings (PromQL, notification templates) as
literal blocks, keys in the order given. Used for every configuration file synthmon writes."""

from __future__ import annotations

from typing import Any

import yaml


class _BlockDumper(yaml.SafeDumper):
    """SafeDumper that writes multi-line strings as `|` blocks and never an alias: a
    repeated route is written out again, as a person reading the file expects."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def dump_yaml(data: Any, header: str = "") -> str:
    """`header` (comment lines, each starting with #) comes first."""
    return header + yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, width=100,
                              allow_unicode=True)

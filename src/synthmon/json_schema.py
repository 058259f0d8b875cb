"""jsonschema as synthmon's own processes use it: imported without its iri formats.

jsonschema's format module imports rfc3987_syntax when it is installed, and that module
builds a parser at import: about two seconds in every process (the pytest controller, each
xdist worker, every `synthmon gate`). No schema or policy of ours uses the iri formats, so
synthmon imports jsonschema with rfc3987_syntax hidden for that one import and puts it back
after. Only synthmon's processes import this module (the pytest plugin does not when the
run is another project's), so other projects' iri checks are left as they were.
"""

from __future__ import annotations

import sys


def _import_without_iri() -> None:
    if "jsonschema" in sys.modules:  # someone imported it first, with whatever it found
        return
    hidden = "rfc3987_syntax" not in sys.modules
    if hidden:
        # None in sys.modules is Python's documented "this import fails"; typeshed types
        # the mapping as modules only.
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        import jsonschema  # noqa: F401
    finally:
        if hidden:
            del sys.modules["rfc3987_syntax"]


_import_without_iri()

from jsonschema import Draft202012Validator, FormatChecker, validators  # noqa: E402
from jsonschema.exceptions import SchemaError, ValidationError, best_match  # noqa: E402
from jsonschema.protocols import Validator  # noqa: E402

__all__ = ["Draft202012Validator", "FormatChecker", "SchemaError", "ValidationError",
           "Validator", "best_match", "validators"]

from __future__ import annotations

import sys
from pathlib import Path

# suite_harness.py sits beside the tests; selftests/ is not a package.
sys.path.insert(0, str(Path(__file__).parent))

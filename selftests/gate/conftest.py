import os
import sys
from pathlib import Path

import pytest

# factory.py sits beside the tests; selftests/ is not a package.
sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session", autouse=True)
def _reports_outside_the_checkout(tmp_path_factory):
    """The gate records every decision in the default history store
    ($SYNTH_REPORTS_DIR/history.sqlite): keep the selftests' decisions out of the
    checkout's reports/."""
    previous = os.environ.get("SYNTH_REPORTS_DIR")
    os.environ["SYNTH_REPORTS_DIR"] = str(tmp_path_factory.mktemp("reports"))
    yield
    if previous is None:
        os.environ.pop("SYNTH_REPORTS_DIR", None)
    else:
        os.environ["SYNTH_REPORTS_DIR"] = previous

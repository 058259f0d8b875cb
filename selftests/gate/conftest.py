import sys
from pathlib import Path

# factory.py sits beside the tests; selftests/ is not a package.
sys.path.insert(0, str(Path(__file__).parent))

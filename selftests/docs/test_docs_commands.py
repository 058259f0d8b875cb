"""Every ```bash / ```sh block of the monitor's docs runs as written, in order.

The blocks of one page run as one bash script (set -euo pipefail) from the repository root,
as a reader would type them one after another; the page's first block starts its own
sandbox and sets the placeholders ($WORK, $SANDBOX_URL, ...), its last one stops it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PAGES = ["docs/e2e-flag.md", "docs/checks.md"]
BLOCK = re.compile(r"^```(?:bash|sh)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)


def shell_blocks(markdown: str) -> list[str]:
    return [m.group(1) for m in BLOCK.finditer(markdown)]


def script_for(blocks: list[str]) -> str:
    parts = [
        "set -euo pipefail",
        # A reader's terminal would keep the sandbox; the test must not leak it.
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
    ]
    for n, block in enumerate(blocks, 1):
        parts += [f"echo '::block {n}::'", block.rstrip("\n")]
    parts.append("echo '::all blocks ran::'")
    return "\n".join(parts) + "\n"


def test_the_extractor_finds_bash_and_sh_blocks_only():
    md = "x\n```bash\necho a\n```\n```sh\necho b\n```\n```sql\nSELECT 1;\n```\n```text\nno\n```\n"
    assert shell_blocks(md) == ["echo a\n", "echo b\n"]


@pytest.mark.slow
@pytest.mark.parametrize("page", PAGES)
def test_every_shell_block_runs_as_written(page: str, tmp_path: Path):
    path = REPO / page
    if not path.exists():
        pytest.fail(f"{page} is missing", pytrace=False)
    blocks = shell_blocks(path.read_text())
    assert len(blocks) >= 2, f"{page} has no shell blocks to check"
    script = tmp_path / "doc.sh"
    script.write_text(script_for(blocks))
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    for name in list(env):
        if name.startswith("SYNTH_"):
            env.pop(name)  # the page must work with the defaults it documents
    proc = subprocess.Popen(["bash", str(script)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{page}: the commands did not finish in 240 s:\n{out[-3000:]}")
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # anything a block left behind
    ran = re.findall(r"^::block (\d+)::$", out, re.M)
    last = int(ran[-1]) if ran else 0
    assert proc.returncode == 0, (
        f"{page}: block {last} of {len(blocks)} failed (exit {proc.returncode}):\n"
        f"{blocks[last - 1] if last else ''}\n--- output ---\n{out[-4000:]}"
    )
    assert "::all blocks ran::" in out and last == len(blocks)

"""What telemetry costs: the suite's wall time with telemetry on vs OTEL_SDK_DISABLED=true.

Both variants run in this one invocation against one sandbox started here on a loopback
port, interleaved (on, off, on, off, ...) so machine noise hits both alike; the figure is the
ratio of the medians (and, less noisy on a shared machine, of the fastest runs).
Reports are written in both variants (they are not telemetry); with
telemetry on, spans and metrics also go to telemetry.jsonl and, when --otlp is given, over
OTLP/HTTP to a receiver on loopback that answers 200 and discards.

    .venv/bin/python bench/telemetry_overhead.py [--rounds 3] [--otlp]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from synthmon.sandbox_process import SandboxProcess, start_sandbox

REPO = Path(__file__).resolve().parents[1]
TARGET_RATIO = 1.10


def start_receiver() -> tuple[ThreadingHTTPServer, str]:
    class Discard(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Discard)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def run_once(url: str, reports: Path, telemetry: bool, otlp: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "SYNTH_"))}
    env["SYNTH_REPORTS_DIR"] = str(reports)
    if telemetry:
        if otlp:
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = otlp
    else:
        env["OTEL_SDK_DISABLED"] = "true"
    started = time.perf_counter()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                             "--target", url], cwd=REPO, env=env, capture_output=True,
                            text=True, timeout=300)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stdout[-2000:], file=sys.stderr)
        raise SystemExit(f"the suite failed (exit {result.returncode}); no figure")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--otlp", action="store_true", help="also export over OTLP/HTTP")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="synthmon-bench-") as tmp:
        box: SandboxProcess = start_sandbox(Path(tmp) / "sandbox", access_log="-",
                                            cohort="control")
        url = box.url
        server, otlp = start_receiver() if args.otlp else (None, None)
        on: list[float] = []
        off: list[float] = []
        try:
            run_once(url, Path(tmp) / "warm", True, otlp)  # warm caches, first imports
            for n in range(args.rounds):
                on.append(run_once(url, Path(tmp) / f"on{n}", True, otlp))
                off.append(run_once(url, Path(tmp) / f"off{n}", False, None))
        finally:
            box.stop()
            if server is not None:
                server.shutdown()
    on_s, off_s = statistics.median(on), statistics.median(off)
    ratio = on_s / off_s
    print(f"suite wall time, median of {args.rounds} interleaved runs each "
          f"(one sandbox, {'OTLP + ' if args.otlp else ''}telemetry.jsonl):")
    print(f"  telemetry on:            {on_s:6.2f} s   runs: "
          + ", ".join(f"{v:.2f}" for v in on))
    print(f"  OTEL_SDK_DISABLED=true:  {off_s:6.2f} s   runs: "
          + ", ".join(f"{v:.2f}" for v in off))
    print(f"  ratio on/off (medians):  {ratio:6.3f}   (target < {TARGET_RATIO:.2f}: "
          f"{'met' if ratio < TARGET_RATIO else 'NOT met'})")
    # the fastest run of each is the least disturbed by other load on the machine
    print(f"  ratio on/off (fastest):  {min(on) / min(off):6.3f}")


if __name__ == "__main__":
    main()

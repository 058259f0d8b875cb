"""Throughput cost of the SLO metrics middleware, measured in one run on loopback.

Two sandbox processes, identical but for the metrics middleware (with / without), are
driven in short back-to-back pairs, the order swapped every pair (A B, B A, ...), so that
drift and neighbours hit both alike. Two figures per route:

- throughput ratio: median over the pairs of (req/s with) / (req/s without);
- CPU ratio: server CPU seconds per request (from /proc), without / with. A one-process
  server's saturated throughput is 1 / its CPU cost per request, and this figure does not
  move when other processes share the machine, so it is the one to quote on a busy box.

wrk drives the load when installed (Debian: `apt-get install wrk`), else a Python
keep-alive loop. The access log is off in both so that only the middleware differs.
Target: under 10 %.
"""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

from synthmon.sandbox_process import wait_for_ready_file

ROUNDS = 6
SECONDS = 2
CONNECTIONS = 16
PATHS = ("/health", "/api/v1/pricing", "/api/v1/scholarships?per_page=5")

SERVER = """
import sys
from scholarship_sandbox import Settings
from scholarship_sandbox.server import serve
serve(Settings(metrics=sys.argv[1] == "on", access_log="-"), host="127.0.0.1", port=0,
      ready_file=sys.argv[2])
"""


def start(metrics: bool, workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    ready = workdir / f"ready-{'on' if metrics else 'off'}.json"
    proc = subprocess.Popen([sys.executable, "-c", SERVER, "on" if metrics else "off",
                             str(ready)], stdout=subprocess.DEVNULL)
    return proc, str(wait_for_ready_file(ready, lambda: proc.poll() is None, 30)["url"])


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wrk(url: str) -> tuple[float, int]:
    out = subprocess.run(["wrk", "-t1", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--timeout", "5s",
                          "-H", "User-Agent: ScholarshipAI-Canary/1.0 (bench)", url],
                         capture_output=True, text=True, timeout=SECONDS + 30, check=True)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    total = re.search(r"(\d+) requests in", out.stdout)
    if not rate or not total or "Non-2xx" in out.stdout:
        raise SystemExit(f"wrk failed or saw errors:\n{out.stdout}")
    return float(rate.group(1)), int(total.group(1))


def python_load(url: str) -> tuple[float, int]:
    parsed = urlparse(url)
    target = parsed.path + (f"?{parsed.query}" if parsed.query else "")
    counts = [0] * CONNECTIONS
    deadline = time.monotonic() + SECONDS

    def worker(i: int) -> None:
        conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=5)
        while time.monotonic() < deadline:
            conn.request("GET", target)
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"GET {target} -> {response.status}")
            counts[i] += 1
        conn.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(CONNECTIONS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(SECONDS + 30)
    return sum(counts) / SECONDS, sum(counts)


def measure(load, proc: subprocess.Popen[bytes], url: str) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """(requests per second, server CPU seconds per request) of one short run."""
    before = cpu_seconds(proc.pid)
    rate, total = load(url)
    return rate, (cpu_seconds(proc.pid) - before) / max(total, 1)


def middleware_microseconds(loops: int = 20_000) -> float:
    """What the counting middleware adds per request, timed in-process (no network, no
    server): the same trivial ASGI app with and without it, interleaved, best of 5."""
    import asyncio

    from scholarship_sandbox.health import SLOHealth, SLOMetricsMiddleware

    class Route:
        path = "/api/v1/scholarships/{scholarship_id}"

    async def endpoint(scope, receive, send):  # type: ignore[no-untyped-def]
        scope["route"] = Route
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    wrapped = SLOMetricsMiddleware(endpoint, SLOHealth(build_id="b", git_sha="abcdef1"))

    async def drive(app) -> float:  # type: ignore[no-untyped-def]
        async def send(message):  # type: ignore[no-untyped-def]
            return None

        start = time.perf_counter()
        for n in range(loops):
            scope = {"type": "http", "method": "GET", "path": "/api/v1/scholarships/x",
                     "query_string": b"e2e=1" if n % 2 else b"",
                     "headers": [(b"user-agent", b"curl/8")]}
            await app(scope, None, send)
        return (time.perf_counter() - start) / loops

    best = {True: float("inf"), False: float("inf")}
    for _ in range(5):
        best[False] = min(best[False], asyncio.run(drive(endpoint)))
        best[True] = min(best[True], asyncio.run(drive(wrapped)))
    return (best[True] - best[False]) * 1e6


def main() -> None:
    load = wrk if shutil.which("wrk") else python_load
    print(f"driver: {'wrk' if load is wrk else 'python keep-alive loop (wrk not installed)'}, "
          f"{CONNECTIONS} connections, {ROUNDS} x {SECONDS} s rounds per side, "
          f"{os.cpu_count()} CPUs, loopback")
    with tempfile.TemporaryDirectory() as tmp:
        servers = {metrics: start(metrics, Path(tmp)) for metrics in (True, False)}
        try:
            worst = 0.0
            lightest = float("inf")
            for path in PATHS:
                ratios, rates = [], {True: [], False: []}
                cpu: dict[bool, list[float]] = {True: [], False: []}
                for pair in range(ROUNDS):
                    got = {}
                    for metrics in ((False, True) if pair % 2 == 0 else (True, False)):
                        proc, url = servers[metrics]
                        got[metrics] = measure(load, proc, url + path)
                        rates[metrics].append(got[metrics][0])
                        cpu[metrics].append(got[metrics][1])
                    ratios.append(got[True][0] / got[False][0])
                throughput = statistics.median(ratios)
                cpu_ratio = statistics.median(cpu[False]) / statistics.median(cpu[True])
                cost = 1 - cpu_ratio
                lightest = min(lightest, statistics.median(cpu[False]))
                worst = max(worst, cost)
                print(f"GET {path}\n"
                      f"    req/s without {statistics.median(rates[False]):7.0f}  with "
                      f"{statistics.median(rates[True]):7.0f}  throughput ratio {throughput:.3f}"
                      f" (pairs {min(ratios):.2f}..{max(ratios):.2f})\n"
                      f"    CPU/request without {statistics.median(cpu[False]) * 1e6:6.0f} us  "
                      f"with {statistics.median(cpu[True]) * 1e6:6.0f} us  "
                      f"CPU ratio {cpu_ratio:.3f}  cost {cost * 100:5.1f} %")
            print(f"worst-case middleware cost (CPU per request): {worst * 100:.1f} % "
                  f"(target < 10 %); load average now {os.getloadavg()[0]:.1f}")
            added = middleware_microseconds()
            print(f"the middleware alone adds {added:.1f} us per request (in-process); against"
                  f" the lightest route's server CPU per request without it ({lightest * 1e6:.0f}"
                  f" us) that is {added / (lightest * 1e6) * 100:.1f} % (target < 10 %)")
        finally:
            for proc, _ in servers.values():
                proc.terminate()
                proc.wait(timeout=15)


if __name__ == "__main__":
    main()

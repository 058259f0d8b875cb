"""`synthmon sandbox`: run the embedded ScholarshipAI sandbox in the foreground.

The only place in synthmon that imports scholarship_sandbox (DESIGN.md's walls): everything
else starts this command as a process and reads its ready file.
"""

from __future__ import annotations

import os
import secrets
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:  # the sandbox itself is imported only when the command runs
    from scholarship_sandbox.settings import Cohort

FAULT_HELP = """\b
Faults (off by default; docs/faults.md), repeatable, or SANDBOX_FAULTS="SPEC;SPEC":
  SPEC  := KIND [":" NAME=VALUE ("," NAME=VALUE)*]
  every kind takes route=GLOB (route templates, default *) and rate=P (0..1, default 1)
  latency:ms=N[,jitter_ms=N]      add N ms before the handler
  error[:status=5xx]              answer a problem+json 5xx (default 500)
  drop-field:field=PATH           remove a field from JSON bodies (PATH: a.b, items.*.c)
  retype-field:field=PATH[,to=T]  T: string|number|null|bool|array|object (default string)
  strip-headers[:headers=A|B]     remove security headers (default: all of them)
  slow-body:ms=N                  send the headers, wait N ms, then the body
  drop-metric:family=NAME         remove a metric family from /metrics
  no-rbac  no-csrf  no-validation  no-rate-limit  nonce-reuse  lose-draft-writes
  not-ready  auth-errors  signup-failures  capture-failures  refresh-reuse
  server-header  cors-wildcard  leak-pii  no-auth  no-token-expiry  no-signature-check
  no-version-check  no-body-limit  no-content-type-check  provider-writes
  add-field:field=PATH[,value=TEXT]   add a member to JSON bodies (schema drift)
  server-header[:value=TEXT]      send a Server header (default with a version)
  alter-echo  analytics-synthetic
  With --tls, at start only: cert-expiring:days=N  cert-wrong-host
At run time: GET/PUT/DELETE /__admin/faults from loopback with X-Admin-Token.
Example: --fault latency:ms=60,route=/api/v1/scholarships* --fault error:status=503,rate=0.01
"""


@click.command(name="sandbox", epilog=FAULT_HELP,
               context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to bind; 0 picks a free one.")
@click.option("--ready-file", type=click.Path(dir_okay=False),
              help='Written once listening: {"url", "admin_token", "pid"} (atomically).')
@click.option("--fault", "faults", multiple=True, metavar="SPEC",
              help="Switch a fault on (repeatable); grammar below.")
@click.option("--build-id", envvar="SANDBOX_BUILD_ID", default="sandbox-local",
              show_default=True, help="Reported by /health and build_info.")
@click.option("--git-sha", envvar="SANDBOX_GIT_SHA", default="0000000", show_default=True,
              help="7-40 hex digits, reported by /health and build_info.")
@click.option("--cohort", type=click.Choice(["canary", "control", "sandbox"]),
              default="sandbox", show_default=True, help="The cohort label on the SLO metrics.")
@click.option("--admin-token", envvar="SANDBOX_ADMIN_TOKEN",
              help="Token for /__admin/faults (default: a random one, printed at start).")
@click.option("--access-log", type=click.Path(dir_okay=False),
              help="JSON access log file (default: stderr; '-' turns it off).")
@click.option("--catalogue", envvar="SANDBOX_CATALOGUE", default="standard", show_default=True,
              type=click.Choice(["standard", "alternate"]),
              help="The seeded scholarships: alternate has other titles, providers and size.")
@click.option("--tls", is_flag=True,
              help="Serve HTTPS with a certificate from a throwaway CA made at start.")
@click.option("--ca-file", type=click.Path(dir_okay=False),
              help="With --tls: write the CA certificate here for clients to trust "
                   "(default: a private temporary file, removed at exit; its path is printed "
                   "and in the ready file as ca_file).")
def sandbox(host: str, port: int, ready_file: str | None, faults: tuple[str, ...],
            build_id: str, git_sha: str, cohort: Cohort, admin_token: str | None,
            access_log: str | None, catalogue: str, tls: bool, ca_file: str | None) -> None:
    """Run the embedded ScholarshipAI sandbox in the foreground until SIGINT/SIGTERM.

    Serves the API of docs/api-contract.md with seeded data and test accounts, plus
    /health, /ready and /metrics.
    """
    from scholarship_sandbox import (
        CERTIFICATE_KINDS,
        FaultSpecError,
        RateLimits,
        Settings,
        TlsSettings,
        parse_spec,
    )
    from scholarship_sandbox.server import serve

    env_faults = [s for s in os.environ.get("SANDBOX_FAULTS", "").split(";") if s.strip()]
    specs = (*env_faults, *faults)
    certificate_faults = {}
    for spec in specs:
        try:
            parsed = parse_spec(spec)
        except FaultSpecError as exc:
            raise click.BadParameter(str(exc), param_hint="--fault / SANDBOX_FAULTS") from None
        if parsed.kind in CERTIFICATE_KINDS:
            certificate_faults[parsed.kind] = parsed
    if certificate_faults and not tls:
        raise click.BadParameter(f"{', '.join(sorted(certificate_faults))} acts on the HTTPS "
                                 f"certificate: add --tls", param_hint="--fault")
    if ca_file and not tls:
        raise click.BadParameter("there is no CA without --tls", param_hint="--ca-file")
    tls_settings = None
    if tls:
        expiring = certificate_faults.get("cert-expiring")
        tls_settings = TlsSettings(
            ca_file=ca_file, wrong_host="cert-wrong-host" in certificate_faults,
            expires_in_days=int(expiring.params["days"]) if expiring else None)
    if not all(c in "0123456789abcdef" for c in git_sha.lower()) or not 7 <= len(git_sha) <= 40:
        raise click.BadParameter("must be 7-40 hex digits", param_hint="--git-sha")
    try:
        limits = RateLimits.from_env()
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    token = admin_token or secrets.token_urlsafe(24)
    settings = Settings(build_id=build_id, git_sha=git_sha.lower(), cohort=cohort,
                        admin_token=token, faults=specs, rate_limits=limits,
                        access_log=access_log, catalogue=catalogue, tls=tls_settings)

    def announce(url: str, ca: str | None) -> None:
        click.echo(f"synthmon sandbox: serving on {url}")
        if ca:
            click.echo(f"synthmon sandbox: CA certificate {ca} (trust it: pytest "
                       f"--target={url} --ca-bundle={ca})")
        click.echo(f"synthmon sandbox: admin token {token}")
        if specs:
            click.echo(f"synthmon sandbox: faults {'; '.join(specs)}")

    try:
        status = serve(settings, host=host, port=port, ready_file=ready_file, announce=announce)
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    # The server has closed its database and access log; tearing down the interpreter (FastAPI,
    # pydantic, uvicorn) would take longer than serving did, and whoever stopped the sandbox
    # waits for its exit.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)

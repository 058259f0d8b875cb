"""HTTPS for the sandbox: a throwaway certificate authority made at start (trustme) and the
server certificate it issues, so that clients meet a real chain, a real hostname check and
a real expiry date, and trust it through the CA file alone (never by turning checks off).

The CA lives only as long as the process: its key is never written, the server key goes
to a private temporary directory removed at exit, and the CA certificate is written where
the caller asked (by default beside the key, gone at exit too), for clients to trust
(`--ca-bundle=FILE`, REQUESTS_CA_BUNDLE).
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import trustme

from .settings import TlsSettings

WRONG_HOST = "wrong-host.scholarshipai.test"
ORGANIZATION = "ScholarshipAI sandbox (throwaway test CA)"
VALID_DAYS = 365


@dataclass(frozen=True)
class ServerCertificate:
    cert_file: Path  # the server certificate and the chain up to the CA
    key_file: Path
    ca_file: Path
    names: tuple[str, ...]  # what the certificate is valid for
    not_after: datetime


def identities(host: str) -> tuple[str, ...]:
    """The names a client may reach this host by: loopback under every name it has."""
    names = [host.strip("[]")]
    try:
        loopback = ipaddress.ip_address(names[0]).is_loopback
    except ValueError:
        loopback = names[0] == "localhost"
    if loopback:
        names += [n for n in ("127.0.0.1", "::1", "localhost") if n not in names]
    return tuple(names)


def issue(tls: TlsSettings, host: str, workdir: Path) -> ServerCertificate:
    """Make the CA, issue the server certificate, write the files."""
    ca = trustme.CA(organization_name=ORGANIZATION)
    now = datetime.now(UTC)
    days = tls.expires_in_days if tls.expires_in_days is not None else VALID_DAYS
    # "expires in 3 days" must read as 3 to whoever rounds down: a little over, never under
    not_after = now + timedelta(days=days, minutes=30)
    names = (WRONG_HOST,) if tls.wrong_host else identities(host)
    leaf = ca.issue_cert(*names, organization_name=ORGANIZATION,
                         not_before=now - timedelta(hours=1), not_after=not_after)
    cert_file, key_file = workdir / "server.pem", workdir / "server.key"
    leaf.cert_chain_pems[0].write_to_path(str(cert_file))
    for extra in leaf.cert_chain_pems[1:]:
        with open(cert_file, "ab") as out:
            out.write(extra.bytes())
    leaf.private_key_pem.write_to_path(str(key_file))
    os.chmod(key_file, 0o600)
    ca_file = Path(tls.ca_file) if tls.ca_file else workdir / "ca.pem"
    ca_file.parent.mkdir(parents=True, exist_ok=True)
    ca.cert_pem.write_to_path(str(ca_file))
    return ServerCertificate(cert_file, key_file, ca_file, names, not_after)


def private_workdir() -> tempfile.TemporaryDirectory[str]:
    """0700, removed when closed: the server key never outlives the process."""
    return tempfile.TemporaryDirectory(prefix="synthmon-sandbox-tls-")

"""Trusting what the api client trusts: a target behind a private certificate authority
(`--ca-bundle`, a staging CA, `synthmon sandbox --tls`) in Chromium.

Chromium trusts the system's public roots only and takes no CA file. So the monitor makes
one verifying TLS handshake itself, with the run's own trust (chain, host name, dates, as
the api client does), and tells Chromium to accept exactly the public key it verified
(`--ignore-certificate-errors-spki-list`): any other certificate is still refused. A target
the public roots vouch for needs nothing of this.
"""

from __future__ import annotations

import base64
import hashlib
import socket
import ssl
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from synthmon.browser.settings import BrowserSetupError
from synthmon.suite.certificates import inspect
from synthmon.suite.trust import trusted_roots


def pinned_keys(url: str, ca_bundle: str | None, timeout: float) -> list[str]:
    """Chromium's launch arguments for `url`: none for plain HTTP or the public roots."""
    parts = urlsplit(url)
    if parts.scheme != "https" or ca_bundle is None:
        return []
    host, port = parts.hostname or "", parts.port or 443
    certificate = inspect(host, port, ca_bundle, timeout)
    if certificate.refused:
        raise BrowserSetupError(f"the pages were not opened: {certificate.refused}")
    context = ssl.create_default_context(cafile=trusted_roots(ca_bundle))
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise BrowserSetupError(f"the pages were not opened: {host}:{port} sent no certificate")
    key = x509.load_der_x509_certificate(der).public_key().public_bytes(
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    pin = base64.b64encode(hashlib.sha256(key).digest()).decode()
    return [f"--ignore-certificate-errors-spki-list={pin}"]

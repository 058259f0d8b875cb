"""What a user's browser would say about an HTTPS target's certificate, in one sentence.

One TLS handshake with verification on (the chain to the trusted roots, the hostname, the
dates); when it is refused, a second one that only reads the certificate, so the sentence
can say what it names and when it ends. Days to expiry are judged by the policy's `tls`
thresholds: under `expiry_degraded_days` is degraded (reported), under
`expiry_failing_days` fails.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from synthmon.suite.trust import trusted_roots

# OpenSSL's X509_V_ERR_* codes a person can act on
_NAME_MISMATCH = frozenset({62, 64})  # a host name, an IP address
_EXPIRED = 10
_NOT_YET_VALID = 9
_UNTRUSTED = frozenset({2, 18, 19, 20, 21})


@dataclass(frozen=True, slots=True)
class Certificate:
    host: str
    port: int
    names: tuple[str, ...]  # subjectAltName entries (DNS names and IP addresses)
    not_after: datetime
    refused: str | None  # None when the handshake verified; else why, in a sentence

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def days_left(self, now: datetime | None = None) -> float:
        return (self.not_after - (now or datetime.now(UTC))).total_seconds() / 86400

    def expiring(self, days: float, limit: int, setting: str) -> str:
        """'the certificate of h:p expires in 3 days (...), under the 7 days of ...'."""
        return (f"the certificate of {self.where} expires in {days:.0f} days "
                f"({_day(self.not_after)}), under the {limit} days of canary-policy.yaml "
                f"tls.{setting}: renew it")


def inspect_url(url: str, ca_bundle: str | None, timeout: float) -> Certificate:
    parts = urlsplit(url)
    return inspect(parts.hostname or "", parts.port or 443, ca_bundle, timeout)


def inspect(host: str, port: int, ca_bundle: str | None, timeout: float) -> Certificate:
    context = ssl.create_default_context(cafile=trusted_roots(ca_bundle))
    try:
        der = _handshake(context, host, port, timeout)
    except ssl.SSLCertVerificationError as exc:
        der = _handshake(_reading_only(), host, port, timeout)
        names, not_after = _describe(der)
        return Certificate(host, port, names, not_after,
                           _refusal(exc, host, port, names, not_after, ca_bundle))
    names, not_after = _describe(der)
    return Certificate(host, port, names, not_after, None)


def _handshake(context: ssl.SSLContext, host: str, port: int, timeout: float) -> bytes:
    with socket.create_connection((host, port), timeout=timeout) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError(f"{host}:{port} sent no certificate")
    return der


def _reading_only() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # only to read what was refused, never to trust it
    return context


def _describe(der: bytes) -> tuple[tuple[str, ...], datetime]:
    # imported here: only an HTTPS target's certificate is read, and cryptography's x509
    # costs every run ~35 ms to import
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID

    cert = x509.load_der_x509_certificate(der)
    names: list[str] = []
    try:
        alt: Any = cert.extensions.get_extension_for_oid(
            ExtensionOID.SUBJECT_ALTERNATIVE_NAME).value
        names = [str(v) for v in alt.get_values_for_type(x509.DNSName)]
        names += [str(v) for v in alt.get_values_for_type(x509.IPAddress)]
    except x509.ExtensionNotFound:
        names = [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]
    return tuple(names), cert.not_valid_after_utc


def _refusal(exc: ssl.SSLCertVerificationError, host: str, port: int, names: tuple[str, ...],
             not_after: datetime, ca_bundle: str | None) -> str:
    code = getattr(exc, "verify_code", None)
    where = f"{host}:{port}"
    if code in _NAME_MISMATCH:
        return (f"the certificate of {where} is not valid for {host}: it names only "
                f"{', '.join(names) or 'nothing'}, so browsers refuse the site")
    if code == _EXPIRED:
        return (f"the certificate of {where} expired on {_day(not_after)}, so browsers "
                f"refuse the site")
    if code == _NOT_YET_VALID:
        return f"the certificate of {where} is not valid yet (a clock or an issuing mistake)"
    if code in _UNTRUSTED:
        trusted = f"the CA bundle {ca_bundle}" if ca_bundle else "the public roots (certifi)"
        return (f"the certificate of {where} does not chain to a root in {trusted} "
                f"({getattr(exc, 'verify_message', exc)}); a private CA is trusted with "
                f"--ca-bundle=FILE or REQUESTS_CA_BUNDLE")
    return f"the certificate of {where} was refused: {getattr(exc, 'verify_message', exc)}"


def _day(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")

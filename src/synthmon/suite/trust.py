"""Which certificate authorities the monitor trusts for an HTTPS target.

`--ca-bundle=FILE` (env SYNTH_CA_BUNDLE) first, then the variables every requests-based tool
honours (REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE), else certifi's public roots, which is what a
user's browser roughly trusts. Verification is never turned off: a private CA (a staging
environment, `synthmon sandbox --tls`) is trusted by naming its certificate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import certifi

ENV_VARIABLES = ("SYNTH_CA_BUNDLE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


class TrustError(ValueError):
    """The CA bundle named cannot be read."""


def ca_bundle(option: str | None, env: Mapping[str, str] | None = None) -> str | None:
    """The PEM file to verify against; None means certifi's public roots."""
    env = os.environ if env is None else env
    named = [(f"--ca-bundle={option}", option)] if option else []
    named += [(name, env[name]) for name in ENV_VARIABLES if env.get(name)]
    if not named:
        return None
    where, path = named[0]
    if not Path(path).is_file():
        raise TrustError(f"{where}: no such file; name the PEM file of the certificate "
                         f"authority that signed the target's certificate")
    return str(Path(path).resolve())


def trusted_roots(bundle: str | None) -> str:
    """The file a verifying TLS client loads."""
    return bundle or certifi.where()

"""What the reports may show of one HTTP exchange: the request and the response, scrubbed.

The api client hands an Exchange to the sample hook with every Sample; a consumer that wants
to show the call (the Allure step's attachments) asks for `request_view()` /
`response_view()`. Both hold the method, the route template, the URL without query secrets,
the allow-listed headers (privacy.scrub_headers: every other header keeps its name, loses its
value) and a hash of the body's *shape*, never a body, token, cookie, password or email.
Built lazily: a run without Allure pays nothing beyond keeping references until the hook
returns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from synthmon.privacy import (
    REDACTED,
    register_secret,
    scrub_headers,
    scrub_text,
    shape_hash,
)

# Query parameters whose values say nothing about a person; every other value is redacted.
SAFE_QUERY = frozenset({"e2e", "q", "page", "per_page", "limit", "offset", "sort", "order",
                        "country", "level", "field", "min_amount", "max_amount"})
# Fields of a JSON request body whose values are credentials or personal data: the client
# registers them as secrets, so they are removed literally wherever they would appear.
SECRET_FIELDS = frozenset({"email", "password", "new_password", "token", "access_token",
                           "refresh_token", "csrf_token", "payment_token", "nonce",
                           "display_name", "name"})


def safe_url(url: str) -> str:
    """The URL with its query values redacted unless they are on the allow-list."""
    parts = urlsplit(url)
    query = [(k, v if k in SAFE_QUERY else REDACTED)
             for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    clean = urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query, safe="[]"), ""))
    return scrub_text(clean) or ""


def register_body_secrets(body: Any) -> None:
    """Remember the credential-like values a check sends (a signup's password and email)."""
    if isinstance(body, Mapping):
        register_secret(*(str(v) for k, v in body.items()
                          if str(k).lower() in SECRET_FIELDS and isinstance(v, str)))


def _media(headers: Mapping[str, str]) -> str | None:
    return headers.get("Content-Type")


def _body_hash(body: bytes | str | None, content_type: str | None) -> str:
    if body is None:
        return "empty"
    return shape_hash(body, content_type)


@dataclass(frozen=True, slots=True)
class Exchange:
    method: str
    route: str
    url: str
    request_headers: Mapping[str, str]
    request_body: bytes | str | None
    status: int | None
    response_headers: Mapping[str, str] | None
    response_body: bytes | None

    def request_view(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "route": self.route,
            "url": safe_url(self.url),
            "headers": scrub_headers(self.request_headers),
            "body_shape": _body_hash(self.request_body, _media(self.request_headers)),
            "body_bytes": len(self.request_body or b""),
        }

    def response_view(self) -> dict[str, Any] | None:
        if self.response_headers is None:
            return None
        return {
            "status": self.status,
            "headers": scrub_headers(self.response_headers),
            "body_shape": _body_hash(self.response_body, _media(self.response_headers)),
            "body_bytes": len(self.response_body or b""),
        }

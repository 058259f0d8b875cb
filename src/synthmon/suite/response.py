"""What a check gets back from the api client: the answer to one call and its Sample."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests

from synthmon.samples import Sample
from synthmon.suite import messages
from synthmon.suite.messages import CallName

# "not given" for arguments where None means something (a JSON body of null)
UNSET: Any = object()


class ApiResponse:
    """The answer to one call: status, headers, the body (read once) and its Sample."""

    __slots__ = ("_json", "content", "headers", "raw", "sample", "status_code")

    def __init__(self, raw: requests.Response, content: bytes, sample: Sample) -> None:
        self.raw = raw
        self.status_code = raw.status_code
        self.headers = raw.headers
        self.content = content
        self.sample = sample
        self._json: Any = UNSET

    @property
    def synthetic_id(self) -> str:
        return self.sample.synthetic_id

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    @property
    def cookies(self) -> requests.cookies.RequestsCookieJar:
        return self.raw.cookies

    def json(self) -> Any:
        if self._json is UNSET:
            self._json = json.loads(self.content)
        return self._json

    def ensure(self, condition: object, expected: str) -> None:
        """Fail the check unless `condition` holds, saying what the user flow expected of
        this answer: `resp.ensure(items, "a search for 'scholarship' finds something")`."""
        if not condition:
            s = self.sample
            name = CallName(s.check, s.method, s.route, s.synthetic_id)
            pytest.fail(messages.not_as_expected(name, s.status, expected), pytrace=False)

    @property
    def problem_slug(self) -> str | None:
        """The last segment of a problem+json `type`, e.g. 'token-expired'."""
        try:
            body = self.json()
        except ValueError:
            return None
        return messages.problem_slug(body)

"""Servers that answer badly: every call still ends, by the deadline at the latest, with a
sentence that says what happened and a sample with its error type."""

from __future__ import annotations

import re
import resource
import time

import pytest
from support.bad_servers import (
    closing_mid_body,
    huge_body,
    raw_server,
    trickling_body,
    trickling_headers,
)

from synthmon.suite.client import TargetDown


def test_a_trickling_body_ends_at_the_deadline(make_client):
    with raw_server(trickling_body(every_s=0.4)) as url:
        client, recorded = make_client(url, deadline_s=1.5, read_timeout_s=5.0)
        started = time.monotonic()
        with pytest.raises(pytest.fail.Exception) as failed:
            client.get("/health", expect=200)
        took = time.monotonic() - started
    assert 1.4 < took < 2.5, took
    message = str(failed.value)
    assert "GET /health expected 200, got no complete answer within 1.5 s: " in message
    assert re.search(r"\d+ bytes? received \(1 attempt\(s\)\) \[synthetic id run-1.x-x.1\]$",
                     message), message
    sample = recorded.samples[0]
    assert sample.error_type == "deadline" and sample.status is None
    assert sample.is_incomplete and not sample.is_server_error
    assert sample.ttfb_ms is not None and 1400 < sample.total_ms < 2500


def test_headers_that_never_end_are_cut_at_the_deadline_too(make_client):
    with raw_server(trickling_headers(every_s=0.3)) as url:
        client, recorded = make_client(url, deadline_s=1.0)
        started = time.monotonic()
        with pytest.raises(pytest.fail.Exception, match="no complete answer within 1 s: no "
                           r"response headers \(1 attempt\(s\)\)"):
            client.get("/health")
        assert time.monotonic() - started < 2.0
    assert recorded.samples[0].error_type == "deadline"


def test_retries_share_the_deadline_of_their_call(make_client):
    """A hanging server: each try times out at 0.6 s, the call still ends by its 1 s."""
    with raw_server(trickling_headers(every_s=60)) as url:
        client, recorded = make_client(url, deadline_s=1.0, read_timeout_s=0.6, retries=5)
        started = time.monotonic()
        with pytest.raises(pytest.fail.Exception):
            client.get("/health")
        assert time.monotonic() - started < 1.6
    assert recorded.samples[0].attempts <= 2


def test_the_probe_of_a_trickling_target_finds_it_down(make_client):
    with raw_server(trickling_body(every_s=0.5)) as url:
        client, _ = make_client(url, deadline_s=1.0)
        with pytest.raises(TargetDown, match=r"^GET /health got no complete answer within 1 s"):
            client.get("/health", checked=False)


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_connection_closed_mid_body_says_after_how_many_bytes(make_client, chunked):
    with raw_server(closing_mid_body(sent=312, announced=1000, chunked=chunked)) as url:
        client, recorded = make_client(url, retries=1)
        with pytest.raises(pytest.fail.Exception) as failed:
            client.get("/health", expect=200)
    message = str(failed.value)
    assert "GET /health expected 200, got no complete answer after 2 attempt(s): a 200 answer, " \
        "then the connection closed after " in message, message
    if not chunked:
        assert "after 312 bytes of its body (Content-Length 1000)" in message, message
    assert "ChunkedEncodingError" not in message and "IncompleteRead" not in message
    sample = recorded.samples[0]
    assert sample.error_type == "no-answer" and sample.status is None and sample.attempts == 2


def test_a_body_announced_over_the_cap_is_not_read(make_client):
    with raw_server(huge_body(50 * 2**20)) as url:
        client, recorded = make_client(url, max_body_bytes=4 * 2**20)
        started = time.monotonic()
        with pytest.raises(pytest.fail.Exception, match=r"GET /health expected a 2xx, got 200, "
                           r"but its Content-Length 52428800 is over the 4194304-byte cap"):
            client.get("/health")
        assert time.monotonic() - started < 2
    sample = recorded.samples[0]
    assert sample.error_type == "body-too-large" and sample.status == 200


def test_a_huge_chunked_body_is_given_up_at_the_cap_and_memory_stays_bounded(make_client):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    with raw_server(huge_body(50 * 2**20, announce=False)) as url:
        client, recorded = make_client(url, max_body_bytes=4 * 2**20)
        with pytest.raises(pytest.fail.Exception, match="its body is over the 4194304-byte cap "
                           r"\(client.max_body_bytes\): reading stopped after \d+ bytes"):
            client.get("/health")
    grown_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mib < 40, f"the peak grew by {grown_mib:.0f} MiB for a 4 MiB cap"
    assert recorded.samples[0].error_type == "body-too-large"


def test_a_body_under_the_cap_arrives_whole(make_client):
    with raw_server(huge_body(3 * 2**20, announce=False)) as url:
        client, recorded = make_client(url, max_body_bytes=4 * 2**20)
        with pytest.raises(pytest.fail.Exception, match=r"GET /health answered 200 but the body "
                           r"breaks schema health at \$: the body is not JSON \(3145728 bytes"):
            client.get("/health", schema="health")
    sample = recorded.samples[0]
    assert sample.error_type == "schema" and sample.status == 200

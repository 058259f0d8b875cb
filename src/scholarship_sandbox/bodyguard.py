"""Request bodies: JSON only (415) and at most 64 KiB (413), checked before any handler
runs, so an oversized or mistyped body can never be half-processed."""

from __future__ import annotations

from typing import Any, Protocol

from starlette.types import Message, Receive, Scope

from .problems import PROBLEM_TYPE, problem_body, request_id_of

_WITH_BODY = {"POST", "PUT", "PATCH", "DELETE"}


async def send_problem(scope: Scope, send: Any, slug: str, status: int, detail: str,
                       headers: list[tuple[bytes, bytes]] | None = None,
                       **extensions: Any) -> None:
    body = problem_body(slug, detail, status=status, request_id=request_id_of(scope),
                        instance=scope["path"], **extensions)
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", PROBLEM_TYPE.encode()),
                            (b"content-length", str(len(body)).encode()), *(headers or [])]})
    await send({"type": "http.response.body", "body": body})


def _is_json(content_type: bytes) -> bool:
    media = content_type.split(b";", 1)[0].strip().lower()
    return media == b"application/json" or (media.startswith(b"application/")
                                            and media.endswith(b"+json"))


# What the no-body-limit fault still reads at most: the fault lifts the contract's limit,
# not the sandbox's own protection against running out of memory.
BACKSTOP_BYTES = 16 * 1024 * 1024


class FaultSwitch(Protocol):
    def on(self, kind: str, scope: Scope) -> bool: ...


class BodyGuardMiddleware:
    def __init__(self, app: Any, *, max_bytes: int, prefixes: tuple[str, ...],
                 faults: FaultSwitch | None = None) -> None:
        self.app, self.max_bytes, self.prefixes = app, max_bytes, prefixes
        self.faults = faults

    def _fault(self, kind: str, scope: Scope) -> bool:
        return (self.faults is not None and not scope["path"].startswith("/__admin")
                and self.faults.on(kind, scope))

    async def __call__(self, scope: Scope, receive: Receive, send: Any) -> None:
        if (scope["type"] != "http" or scope["method"] not in _WITH_BODY
                or not scope["path"].startswith(self.prefixes)):
            await self.app(scope, receive, send)
            return
        # The faults no-body-limit and no-content-type-check switch off one guard each.
        max_bytes = BACKSTOP_BYTES if self._fault("no-body-limit", scope) else self.max_bytes
        check_type = not self._fault("no-content-type-check", scope)
        content_type = content_length = None
        chunked = False
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                content_length = value
            elif name == b"transfer-encoding":
                chunked = True
        declared = int(content_length) if content_length and content_length.isdigit() else 0
        if declared > max_bytes:
            await send_problem(scope, send, "payload-too-large", 413,
                               f"The body is {declared} bytes; the limit is {max_bytes}")
            return
        # Read the whole (bounded) body now and replay it: the limit holds for chunked
        # uploads too, and a handler never sees a body it would have to abandon midway.
        chunks: list[bytes] = []
        size = 0
        more = declared > 0 or chunked
        while more:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                await send_problem(scope, send, "payload-too-large", 413,
                                   f"The body exceeds the limit of {max_bytes} bytes")
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        if check_type and body and (content_type is None or not _is_json(content_type)):
            shown = (content_type or b"none").decode("latin-1")[:80]
            await send_problem(scope, send, "unsupported-media-type", 415,
                               f"Request bodies must be application/json, not {shown}")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

"""Pure ASGI middleware: request ids, access log and latency metrics, and request body limits."""

from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from platform_api.error_reports import tag_request
from platform_api.logs import request_id_var
from platform_api.metrics.http import observe_request

access_log = logging.getLogger("platform_api.access")
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class RequestIdMiddleware:
    """Takes a well-formed X-Request-ID from the caller or makes one; echoes it, logs the request and
    observes its latency."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        # scope["state"] is what request.state reads, also in the outermost 500 handler.
        scope.setdefault("state", {})["request_id"] = request_id
        token = request_id_var.set(request_id)
        tag_request(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = message.get("headers", [])
                if not any(name.lower() == b"x-request-id" for name, _ in headers):
                    message["headers"] = [*headers, (b"x-request-id", request_id.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            observe_request(scope, status, seconds)
            access_log.info(
                "request",
                extra={
                    "method": scope["method"],
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
            request_id_var.reset(token)


class BodyLimitMiddleware:
    """Refuses bodies over the limit with 413, by Content-Length up front or by counting a streamed body, and
    bodies that stop arriving for `stall_timeout` seconds with 408.

    It raises HTTPException from `receive`, which FastAPI re-raises from body parsing, so the ordinary
    error handler renders it in the envelope.
    """

    def __init__(self, app: ASGIApp, *, json_limit: int, multipart_limit: int, stall_timeout: float) -> None:
        self.app = app
        self.json_limit = json_limit
        self.multipart_limit = multipart_limit
        self.stall_timeout = stall_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        content_type = headers.get(b"content-type", b"").lower()
        limit = self.multipart_limit if content_type.startswith(b"multipart/form-data") else self.json_limit
        declared = headers.get(b"content-length")
        received = 0
        body_complete = False

        async def limited_receive() -> Message:
            nonlocal received, body_complete
            if declared is not None and declared.isdigit() and int(declared) > limit:
                raise HTTPException(413)
            if body_complete:  # later reads wait for the client to disconnect, however long that takes
                return await receive()
            try:
                async with asyncio.timeout(self.stall_timeout):
                    message = await receive()
            except TimeoutError:
                raise HTTPException(408) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                body_complete = not message.get("more_body", False)
                if received > limit:
                    raise HTTPException(413)
            return message

        await self.app(scope, limited_receive, send)

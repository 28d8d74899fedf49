"""Every error leaves in the envelope of spec §6.1.3, in the reader's language, with the request id."""

from __future__ import annotations

import functools
import logging
import re
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path

from platform_api import errors
from platform_api.envelope import ErrorBody, ErrorEnvelope
from platform_api.errors import ApiError, ErrorCode
from platform_api.i18n import negotiate

log = logging.getLogger("platform_api.errors")


def error_response(
    request: Request,
    error: ErrorCode,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    body = ErrorEnvelope(
        error=ErrorBody(
            code=error.code,
            message=error.message(negotiate(request.headers.get("accept-language"))),
            details=details or {},
            request_id=request_id,
        )
    )
    response_headers = dict(headers or {})
    if request_id:
        response_headers["X-Request-ID"] = request_id
    return JSONResponse(jsonable_encoder(body), status_code=error.status, headers=response_headers)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(request, exc.error, details=exc.details, headers=exc.headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"loc": list(item.get("loc", ())), "message": item.get("msg", ""), "type": item.get("type", "")}
        for item in exc.errors()
    ]
    return error_response(request, errors.VALIDATION_ERROR, details={"errors": problems})


@functools.cache
def _path_pattern(path: str) -> re.Pattern:
    return compile_path(path)[0]


def _allowed_methods(request: Request) -> str:
    """Every method the path takes. Starlette's 405 names only those of the first route matching the path,
    and two routes often share one (`GET /styles`, `POST /styles`). A literal path is a resource of its own
    (`/styles/me`), even where a route with a parameter (`PATCH /styles/{style_id}`) also matches it."""
    path = request.scope["path"]
    matching = [route for route in routing.iter_route_contexts(request.app.routes)
                if route.methods and route.path and _path_pattern(route.path).match(path)]
    literal = [route for route in matching if "{" not in route.path]
    return ", ".join(sorted(set().union(*(route.methods for route in literal or matching))))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    headers = exc.headers
    if exc.status_code == 405:
        headers = (headers or {}) | {"Allow": _allowed_methods(request)}
    return error_response(request, errors.for_status(exc.status_code), headers=headers)


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # This handler runs outside the request id middleware, so the id is passed along explicitly.
    log.error("unhandled error", exc_info=exc, extra={"path": request.url.path, "method": request.method,
                                                      "request_id": getattr(request.state, "request_id", None)})
    return error_response(request, errors.INTERNAL_ERROR)


def register_exception_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)

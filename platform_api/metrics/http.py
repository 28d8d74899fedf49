"""Request latency by route template (never the raw path: ids would make a series per row), method and
status. Paths that no route matched (the web app's pages, 404s) share one label."""

from __future__ import annotations

from prometheus_client import Histogram
from starlette.types import Scope

UNMATCHED = "<unmatched>"

REQUEST_DURATION = Histogram(
    "sl_http_request_duration_seconds", "API request latency by route template, method and status",
    ["route", "method", "status"], registry=None,
)


def route_template(scope: Scope) -> str:
    """The matched route's template under the static prefix it was found through (`/api/v1`, `/admin`):
    FastAPI keeps included routers nested and mounts strip their prefix, so a route knows only its own part,
    and that part is the longest tail of the path its pattern matches."""
    route = scope.get("route")
    template, pattern = getattr(route, "path_format", None), getattr(route, "path_regex", None)
    if template is None or pattern is None:
        return UNMATCHED
    path = scope["path"]
    for start, character in enumerate(path):
        if character == "/" and pattern.match(path[start:]):
            return path[:start] + template
    return template


def observe_request(scope: Scope, status: int, seconds: float) -> None:
    """Called by the access log middleware, which times every request already."""
    REQUEST_DURATION.labels(route_template(scope), scope["method"], str(status)).observe(seconds)

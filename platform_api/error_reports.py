"""Unexpected errors reported to Sentry when SENTRY_DSN is set (spec §11.3); nothing is sent otherwise.

Sentry's integrations report an unhandled exception (FastAPI's) or an error log line (logging's) as an event
with its stack; each event carries the request id, so a report leads to the same request's log lines.
Sentry's defaults send no personal data (no cookies, no Authorization header, no user).
"""

from __future__ import annotations

from typing import Any

import sentry_sdk

from core.settings import Settings
from platform_api.logs import request_id_var


def tag_request(request_id: str) -> None:
    """Tag every event of the current request with its id. Sentry gives each request a scope of its own; an
    exception it captures there may reach `before_send` after the request's context has been left (as on
    sentry-sdk 3), so the tag goes on that scope rather than being read back later."""
    if sentry_sdk.get_client().is_active():
        sentry_sdk.set_tag("request_id", request_id)


def _with_request_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    # Errors logged outside a request scope: the log record or the context carries the id.
    request_id = request_id_var.get() or event.get("extra", {}).get("request_id")
    if request_id:
        event.setdefault("tags", {})["request_id"] = request_id
    return event


def configure_error_reports(settings: Settings) -> None:
    observability = settings.observability
    if not observability.sentry_dsn:
        return
    sentry_sdk.init(
        dsn=observability.sentry_dsn,
        environment=settings.app.env.value,
        traces_sample_rate=observability.sentry_traces_sample_rate,
        before_send=_with_request_id,
    )

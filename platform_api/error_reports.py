"""Unexpected errors reported to Sentry when SENTRY_DSN is set (spec §11.3); nothing is sent otherwise.

Sentry's logging integration turns the error log of the 500 handler into an event with its stack; each
event carries the request id, so a report leads to the same request's log lines. Sentry's defaults send no
personal data (no cookies, no Authorization header, no user).
"""

from __future__ import annotations

from typing import Any

import sentry_sdk

from core.settings import Settings
from platform_api.logs import request_id_var


def _with_request_id(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    # The 500 handler's log record carries it; errors logged inside a request have it in the context.
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

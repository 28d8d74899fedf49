"""When to try a request again, and how long to wait first.

Rate limits (429) and server or gateway faults (5xx) are retried; so is a generation whose first request
with the same Idempotency-Key is still being answered (409 `idempotency_key_in_use`). The server's
Retry-After wins over our own backoff. Retrying a write is safe only because every write the SDK sends
carries an Idempotency-Key or has no effect (verification).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from datetime import datetime, timezone

import httpx


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_seconds: float = 0.5  # doubled after each try, with jitter
    max_backoff_seconds: float = 30.0
    # A Retry-After longer than this is an outage, not a hiccup: give up and report it.
    max_retry_after_seconds: float = 300.0


@dataclass(frozen=True)
class RetryNotice:
    """Told to `on_retry` before each wait, so a script or the CLI can say why it pauses."""

    method: str
    path: str
    attempt: int
    delay_seconds: float
    reason: str


def retry_reason(response: httpx.Response) -> str | None:
    """Why this response is worth another try; None when it is final."""
    if response.status_code == 429:
        return "rate limited"
    if response.status_code >= 500:
        return f"server error {response.status_code}"
    if response.status_code == 409 and _error_reason(response) == "idempotency_key_in_use":
        return "the same request is still being answered"
    return None


def _error_reason(response: httpx.Response) -> str | None:
    try:
        return response.json()["error"]["details"].get("reason")
    except (ValueError, KeyError, TypeError, AttributeError):
        return None


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds: either a number of seconds or an HTTP date."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def backoff_seconds(policy: RetryPolicy, attempt: int) -> float:
    """Exponential backoff with full jitter, so a batch's workers do not retry in lockstep."""
    ceiling = min(policy.max_backoff_seconds, policy.backoff_seconds * 2 ** (attempt - 1))
    return random.uniform(ceiling / 2, ceiling)

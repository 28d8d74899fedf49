"""Idempotency-Key for requests that must take effect once (purchases, payment confirmation, generations).

The first request with a key claims it by inserting a row in the same transaction as its effect and stores
its response there before committing. A retry with the same key and body gets that response back; with a
different body, 422 IDEMPOTENCY_KEY_REUSED. Concurrent requests with one key queue on the row's unique index
and the later ones replay the first one's result, so one key is one effect. Keys last 24 hours.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Header
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import IdempotencyKey
from platform_api import errors
from platform_api.errors import ApiError

KEY_LIFETIME = timedelta(hours=24)

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=255,
        description="Any unique string (e.g. a UUID); a retry with the same key returns the first result.",
    ),
]


@dataclass
class Claim:
    """What a request holding an Idempotency-Key may do: replay a stored response, or act and remember."""

    record_id: int | None
    replay: JSONResponse | None = None

    async def remember(self, db: AsyncSession, status_code: int, body: Any) -> None:
        if self.record_id is not None:
            await db.execute(
                update(IdempotencyKey)
                .where(IdempotencyKey.id == self.record_id)
                .values(response_status=status_code, response_body=jsonable_encoder(body))
            )


def _fingerprint(request: Any) -> str:
    canonical = json.dumps(jsonable_encoder(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def claim(db: AsyncSession, *, user_id: int, scope: str, key: str | None, request: Any) -> Claim:
    if key is None:
        return Claim(record_id=None)
    fingerprint = _fingerprint(request)
    now = datetime.now(UTC)
    same_key = (IdempotencyKey.user_id == user_id, IdempotencyKey.scope == scope, IdempotencyKey.key == key)
    await db.execute(delete(IdempotencyKey).where(*same_key, IdempotencyKey.expires_at <= now))
    record_id = await db.scalar(
        insert(IdempotencyKey)
        .values(user_id=user_id, scope=scope, key=key, request_hash=fingerprint, expires_at=now + KEY_LIFETIME)
        .on_conflict_do_nothing()
        .returning(IdempotencyKey.id)
    )
    if record_id is not None:
        return Claim(record_id=record_id)
    first = await db.scalar(select(IdempotencyKey).where(*same_key))
    if first is None or first.response_status is None:
        # The first request's transaction ended without an answer; the client may simply retry.
        raise ApiError(errors.CONFLICT, details={"reason": "idempotency_key_in_use"})
    if first.request_hash != fingerprint:
        raise ApiError(errors.IDEMPOTENCY_KEY_REUSED)
    return Claim(
        record_id=None,
        replay=JSONResponse(first.response_body, status_code=first.response_status, headers={"Idempotent-Replayed": "true"}),
    )

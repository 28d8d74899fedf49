"""Liveness and readiness probes (outside /api/v1: they belong to the process, not the product API)."""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from platform_api import errors
from platform_api.envelope import Envelope, error_responses, ok
from platform_api.errors import ApiError

router = APIRouter(tags=["health"])
log = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0


class Health(BaseModel):
    status: str


class Readiness(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Envelope[Health])
async def healthz() -> Envelope[Health]:
    return ok(Health(status="ok"))


@router.get(
    "/readyz", response_model=Envelope[Readiness], responses=error_responses(errors.SERVICE_UNAVAILABLE)
)
async def readyz(request: Request) -> Envelope[Readiness]:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_SECONDS):
            async with request.app.state.engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to reach the database means "not ready"
        log.warning("database not reachable", extra={"error": repr(exc)})
        raise ApiError(errors.SERVICE_UNAVAILABLE, details={"database": "unreachable"}) from exc
    return ok(Readiness(status="ready", database="ok"))

"""Reconcilers: periodic jobs that finish work an interrupted request or a lost callback left half done.

Each runs in every API process; the jobs claim rows with SELECT ... FOR UPDATE SKIP LOCKED, so several
processes share the work instead of repeating it. Each pass is one transaction; a failing pass is logged and
retried at the next tick.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

Job = Callable[[FastAPI, AsyncSession], Awaitable[int]]


@dataclass(frozen=True)
class Reconciler:
    name: str
    every_seconds: float
    job: Job  # returns how many rows it handled


async def run_once(app: FastAPI, reconciler: Reconciler) -> int:
    async with app.state.session_factory() as session, session.begin():
        return await reconciler.job(app, session)


async def _loop(app: FastAPI, reconciler: Reconciler) -> None:
    while True:
        try:
            handled = await run_once(app, reconciler)
            if handled:
                log.info("reconciled", extra={"reconciler": reconciler.name, "rows": handled})
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("reconciler pass failed", extra={"reconciler": reconciler.name})
        await asyncio.sleep(reconciler.every_seconds)


def start(app: FastAPI, reconcilers: list[Reconciler]) -> list[asyncio.Task]:
    return [asyncio.create_task(_loop(app, r), name=f"reconciler:{r.name}") for r in reconcilers]


async def stop(tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)

"""One database session per request: committed when the endpoint returns, rolled back when it raises.

Services take the session and never commit, so one request is one transaction across services.
`scope="function"` commits before the response is sent: a client never sees success for work that
failed to commit. Side effects that must not happen unless the transaction commits (deleting stored
objects, dispatching work) are queued with `after_commit` and dropped on rollback.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from platform_api.errors import ApiError

log = logging.getLogger(__name__)
_AFTER_COMMIT = "after_commit"


def after_commit(db: AsyncSession, action: Callable[[], Awaitable[None]]) -> None:
    db.info.setdefault(_AFTER_COMMIT, []).append(action)


async def _run_after_commit(db: AsyncSession) -> None:
    for action in db.info.pop(_AFTER_COMMIT, []):
        try:
            await action()
        except Exception:  # the transaction stands; a failed side effect is logged, not undone
            log.exception("after-commit action failed")


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.session_factory() as session:
        try:
            yield session
        except ApiError as error:
            if error.keep_changes:
                await _commit(session)
            else:
                await _roll_back(session)
            raise
        except BaseException:
            await _roll_back(session)
            raise
        await _commit(session)


async def _commit(session: AsyncSession) -> None:
    await session.commit()
    await _run_after_commit(session)


async def _roll_back(session: AsyncSession) -> None:
    session.info.pop(_AFTER_COMMIT, None)
    await session.rollback()


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]

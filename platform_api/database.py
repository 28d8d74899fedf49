"""One database session per request: committed when the endpoint returns, rolled back when it raises.

Services take the session and never commit, so one request is one transaction across services.
`scope="function"` commits before the response is sent: a client never sees success for work that
failed to commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def _request_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.session_factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


SessionDep = Annotated[AsyncSession, Depends(_request_session, scope="function")]

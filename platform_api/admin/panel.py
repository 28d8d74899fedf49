"""The operators' panel (sqladmin) at /admin, on the API's async engine and sign-in sessions.

Its session maker is made unbound with the app and bound to the engine when the lifespan creates it.
"""

from __future__ import annotations

from fastapi import FastAPI
from sqladmin import Admin
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from starlette.requests import Request
from starlette.responses import Response

from platform_api.admin.access import ADMIN_PATH, OperatorAccess
from platform_api.admin.views import VIEWS


class OperatorPanel(Admin):
    # Sign-in is the product's own (Google or the development sign-in), never a form of the panel's.
    async def login(self, request: Request) -> Response:
        return await self.authentication_backend.login(request)

    async def logout(self, request: Request) -> Response:
        return await self.authentication_backend.logout(request)


def mount_admin(app: FastAPI) -> None:
    sessions = async_sessionmaker(expire_on_commit=False)
    panel = OperatorPanel(app, session_maker=sessions, base_url=ADMIN_PATH, title="Style License operators",
                          authentication_backend=OperatorAccess(app))
    for view in VIEWS:
        panel.add_view(view)
    app.state.admin_sessions = sessions


def bind_admin(app: FastAPI, engine: AsyncEngine) -> None:
    app.state.admin_sessions.configure(bind=engine)

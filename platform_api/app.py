"""The FastAPI application: `create_app()` is the one place that wires settings, database, middleware,
error handlers and the domain routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from core.settings import Settings, get_settings
from db.engine import create_api_engine, create_session_factory
from platform_api.envelope import COMMON_ERROR_RESPONSES
from platform_api.exception_handlers import register_exception_handlers
from platform_api.health.router import router as health_router
from platform_api.logs import configure_logging
from platform_api.middleware import BodyLimitMiddleware, RequestIdMiddleware

API_PREFIX = "/api/v1"


def _operation_id(route: APIRoute) -> str:
    """Stable `{tag}-{name}` ids, so a typed client can be generated from the OpenAPI document."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def _api_v1_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=COMMON_ERROR_RESPONSES)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.app.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_api_engine(settings.database)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        try:
            yield
        finally:
            await engine.dispose()

    app = FastAPI(
        title="Style License API",
        version="1",
        summary="Artists license their art style; users generate signed images in it with tokens.",
        lifespan=lifespan,
        generate_unique_id_function=_operation_id,
        responses=COMMON_ERROR_RESPONSES,
    )
    app.state.settings = settings
    register_exception_handlers(app)
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.app.max_json_body_bytes,
        multipart_limit=settings.app.max_multipart_body_bytes,
    )
    app.add_middleware(RequestIdMiddleware)
    app.include_router(health_router)
    app.include_router(_api_v1_router())
    return app

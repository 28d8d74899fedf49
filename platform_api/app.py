"""The FastAPI application: `create_app()` is the one place that wires settings, database, middleware,
error handlers and the domain routers together."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.middleware.sessions import SessionMiddleware
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from core.provenance_keys import load_provenance_keys
from core.settings import PaymentProvider, Settings, get_settings
from core.storage import create_object_store
from db.engine import create_api_engine, create_session_factory
from platform_api.auth.google import OAUTH_STATE_COOKIE, OAUTH_STATE_MAX_AGE_SECONDS, google_client
from platform_api.auth.router import router as auth_router
from platform_api.community.router import router as community_router
from platform_api.compute import Generations, TrainingJobs
from platform_api import background
from platform_api.admin.panel import bind_admin, mount_admin
from platform_api.background import Reconciler
from platform_api.envelope import COMMON_ERROR_RESPONSES
from platform_api.error_reports import configure_error_reports
from platform_api.exception_handlers import register_exception_handlers
from platform_api.generations.dispatch import Dispatcher, reconcile_generations
from platform_api.generations.router import router as generations_router
from platform_api.health.router import router as health_router
from platform_api.internal.router import router as internal_router
from platform_api.logs import configure_logging
from platform_api.media import media_router
from platform_api.metrics.router import create_registry
from platform_api.metrics.router import router as metrics_router
from platform_api.middleware import BodyLimitMiddleware, RequestIdMiddleware
from platform_api.notifications.router import router as notifications_router
from platform_api.public_reads import PublicReadCache
from platform_api.rate_limit import RateLimiter, limit_by_caller
from platform_api.search.router import router as search_router
from platform_api.security_headers import SecurityHeadersMiddleware
from platform_api.styles.router import router as styles_router
from platform_api.styles.training import reconcile_training_runs
from platform_api.tokens.dev_toss import DevTossServer
from platform_api.tokens.payments import DEV_TOSS_PATH, resolve_pending_purchases, toss_api_base, toss_secret_key
from platform_api.tokens.router import router as tokens_router
from platform_api.tokens.toss import TossClient
from platform_api.users.router import router as users_router
from platform_api.verify.router import router as verify_router
from platform_api.web import serve_web_app

API_PREFIX = "/api/v1"

RECONCILERS = [
    Reconciler("pending_purchases", 60, lambda app, db: resolve_pending_purchases(db, app.state.toss)),
    Reconciler("training_runs", 15, reconcile_training_runs),
    Reconciler("generations", 5, reconcile_generations),
]


def _operation_id(route: APIRoute) -> str:
    """Stable `{tag}-{name}` ids, so a typed client can be generated from the OpenAPI document."""
    tag = route.tags[0] if route.tags else "default"
    return f"{tag}-{route.name}"


def _api_v1_router() -> APIRouter:
    router = APIRouter(prefix=API_PREFIX, responses=COMMON_ERROR_RESPONSES, dependencies=[Depends(limit_by_caller)])
    domains = (
        auth_router,
        users_router,
        tokens_router,
        verify_router,
        community_router,
        notifications_router,
        search_router,
        styles_router,
        generations_router,
        internal_router,
    )
    for domain in domains:
        router.include_router(domain)
    return router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or get_settings()
    configure_logging(settings.app.log_level)
    configure_error_reports(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = create_api_engine(settings.database)
        app.state.engine = engine
        app.state.session_factory = create_session_factory(engine)
        bind_admin(app, engine)
        # Clients holding connections belong to the event loop that serves the app.
        app.state.rate_limiter = RateLimiter(settings.limits)
        app.state.toss = TossClient(api_base=toss_api_base(settings), secret_key=toss_secret_key(settings))
        # Fail at start-up, not at the first verification, when the certificates are missing.
        app.state.provenance_keys = load_provenance_keys(settings)
        app.state.dispatcher = Dispatcher(app)
        reconcilers = background.start(app, RECONCILERS) if settings.app.run_reconcilers else []
        try:
            yield
        finally:
            await background.stop(reconcilers)
            await app.state.dispatcher.stop()
            await app.state.toss.close()
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
    app.state.google = google_client(settings)
    app.state.training_jobs = TrainingJobs(settings)
    app.state.generations = Generations(settings)
    app.state.object_store = create_object_store(settings.storage)
    app.state.public_reads = PublicReadCache(settings.app.public_read_cache_seconds)
    register_exception_handlers(app)
    # Holds only the OAuth state, nonce and PKCE verifier between the redirect to Google and the callback.
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.app.secret_key,
        session_cookie=OAUTH_STATE_COOKIE,
        max_age=OAUTH_STATE_MAX_AGE_SECONDS,
        same_site="lax",
        https_only=settings.auth.session_cookie_secure,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        json_limit=settings.app.max_json_body_bytes,
        multipart_limit=settings.app.max_multipart_body_bytes,
        stall_timeout=settings.app.body_stall_timeout_seconds,
    )
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.is_production)
    app.add_middleware(RequestIdMiddleware)
    if settings.app.trusted_proxies:
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.app.trusted_proxies)
    create_registry(app)
    app.include_router(health_router)
    app.include_router(metrics_router)
    app.include_router(media_router(settings.storage.local_url_prefix))
    app.include_router(_api_v1_router())
    if settings.payments.provider is PaymentProvider.dev and not settings.payments.toss_api_base:
        app.mount(DEV_TOSS_PATH, DevTossServer(secret_key=toss_secret_key(settings)).app())
    mount_admin(app)
    serve_web_app(app)
    return app

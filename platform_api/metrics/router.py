"""`GET /metrics` for Prometheus: the API's own metrics, off unless SL_METRICS_TOKEN is set, and then only
for a scraper presenting that token (the internal API token would let a scraper report training results)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from platform_api import errors
from platform_api.auth.principal import bearer_credential
from platform_api.auth.secrets import same_secret
from platform_api.envelope import error_responses
from platform_api.errors import ApiError
from platform_api.metrics.http import REQUEST_DURATION
from platform_api.metrics.state import PlatformState

router = APIRouter(tags=["operations"])


def create_registry(app: FastAPI) -> None:
    """One registry per app (tests build many apps in one process); the latency histogram is process-wide."""
    registry = CollectorRegistry(auto_describe=True)
    registry.register(REQUEST_DURATION)
    app.state.platform_state = PlatformState(app.state.settings.observability.metrics_state_cache_seconds)
    registry.register(app.state.platform_state)
    app.state.metrics_registry = registry


@router.get("/metrics", response_class=Response, include_in_schema=False,
            responses=error_responses(errors.UNAUTHORIZED, errors.NOT_FOUND))
async def metrics(request: Request) -> Response:
    token = request.app.state.settings.observability.metrics_token
    if token is None:
        raise ApiError(errors.NOT_FOUND)
    if not same_secret(bearer_credential(request), token):
        raise ApiError(errors.UNAUTHORIZED, details={"reason": "metrics_token_required"})
    await request.app.state.platform_state.refresh(request.app.state.session_factory)
    return Response(generate_latest(request.app.state.metrics_registry), media_type=CONTENT_TYPE_LATEST)

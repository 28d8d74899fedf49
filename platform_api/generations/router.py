"""Image generation (spec §6.6): request, follow, list, share, download."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from db.models import Generation
from platform_api import errors, idempotency
from platform_api.auth.principal import CurrentUser, OptionalUser
from platform_api.community import feed
from platform_api.community.schemas import GenerationCard
from platform_api.community.visibility import visible_generation_or_404
from platform_api.database import SessionDep, after_commit
from platform_api.envelope import Envelope, Page, ResourceId, error_responses, ok
from platform_api.errors import ApiError
from platform_api.generations import service
from platform_api.generations.schemas import GenerationCreate, GenerationOut, GenerationUpdate
from platform_api.idempotency import IdempotencyKeyHeader
from platform_api.media import image_url_for, object_store
from platform_api.pagination import PageParamsDep, paginate
from platform_api.rate_limit import GenerationLimit

router = APIRouter(prefix="/generations", tags=["generations"])

SIGNED_IN_WRITE = (errors.UNAUTHORIZED, errors.CSRF_FAILED)


async def _view(request: Request, db, generation, viewer_id: int | None) -> GenerationOut:
    [view] = await service.views(db, [generation], image_url_for(request), request.app.state.settings, viewer_id)
    return view


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[GenerationOut],
    responses=error_responses(*SIGNED_IN_WRITE, errors.INSUFFICIENT_TOKENS, errors.STYLE_NOT_READY, errors.NOT_FOUND,
                              errors.IDEMPOTENCY_KEY_REUSED, errors.RATE_LIMITED),
)
async def create_generation(body: GenerationCreate, request: Request, db: SessionDep, user: CurrentUser,
                            _: GenerationLimit, key: IdempotencyKeyHeader = None):
    """Charges the style's price and queues the image; poll `GET /generations/{id}` for progress."""
    claim = await idempotency.claim(db, user_id=user.id, scope="generations.create", key=key, request=body)
    if claim.replay:
        return claim.replay
    generation = await service.request_generation(db, user, body)
    result = ok(await _view(request, db, generation, user.id))
    await claim.remember(db, status.HTTP_202_ACCEPTED, result)
    dispatcher = request.app.state.dispatcher
    after_commit(db, lambda: _dispatch(dispatcher, generation.id))
    return result


async def _dispatch(dispatcher, generation_id: int) -> None:
    dispatcher.start(generation_id)


@router.get("/me", response_model=Envelope[Page[GenerationOut]], responses=error_responses(errors.UNAUTHORIZED))
async def my_generations(request: Request, db: SessionDep, user: CurrentUser, page: PageParamsDep):
    """All of mine, newest first, whatever their state or visibility."""
    result = await paginate(db, service.mine(user), [Generation.created_at, Generation.id], page)
    views = await service.views(db, result.rows, image_url_for(request), request.app.state.settings, user.id)
    return ok(Page(results=views, next_cursor=result.next_cursor, has_more=result.has_more))


@router.get("/feed", response_model=Envelope[Page[GenerationCard]], responses=error_responses(errors.INVALID_CURSOR))
async def public_feed(request: Request, db: SessionDep, user: OptionalUser, page: PageParamsDep):
    """Public, completed images, newest first (the same feed as `GET /feed`)."""
    cards, result = await feed.public_feed(db, user.id if user else None, page, image_url_for(request))
    return ok(Page(results=cards, next_cursor=result.next_cursor, has_more=result.has_more))


@router.get("/{generation_id}", response_model=Envelope[GenerationOut], responses=error_responses(errors.NOT_FOUND))
async def get_generation(generation_id: ResourceId, request: Request, db: SessionDep, user: OptionalUser):
    """With `progress` while processing and `queue` (position, wait) while queued; others see it only once
    it is public."""
    viewer_id = user.id if user else None
    generation = await visible_generation_or_404(db, generation_id, viewer_id)
    return ok(await _view(request, db, generation, viewer_id))


@router.patch(
    "/{generation_id}",
    response_model=Envelope[GenerationOut],
    responses=error_responses(*SIGNED_IN_WRITE, errors.NOT_FOUND, errors.CONFLICT),
)
async def update_generation(generation_id: ResourceId, body: GenerationUpdate, request: Request, db: SessionDep,
                            user: CurrentUser):
    """Share (is_public) or describe my image. Images are never deleted: unsharing replaces deletion."""
    generation = await service.update_generation(db, await service.owned_generation(db, generation_id, user), body)
    return ok(await _view(request, db, generation, user.id))


@router.get(
    "/{generation_id}/download",
    response_class=Response,
    responses={200: {"content": {"image/png": {}, "image/jpeg": {}}}} | error_responses(errors.NOT_FOUND),
)
async def download(generation_id: ResourceId, request: Request, db: SessionDep, user: OptionalUser):
    """The signed image as a file (the only one there is: an unsigned image is never stored)."""
    generation = await visible_generation_or_404(db, generation_id, user.id if user else None)
    if generation.result_key is None:
        raise ApiError(errors.NOT_FOUND, details={"reason": "not_completed"})
    store = object_store(request)
    info = await store.head(generation.result_key)
    data = await store.get(generation.result_key)
    extension = generation.result_key.rsplit(".", 1)[-1]
    return Response(data, media_type=info.content_type if info else None, headers={
        "Content-Disposition": f'attachment; filename="style-license-{generation.id}.{extension}"'})

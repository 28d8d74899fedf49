"""Styles (spec §6.5): create with training images, browse, view with training progress, edit, retrain, cancel a
training run."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status

from platform_api import errors
from platform_api.auth.principal import CurrentArtist, OptionalUser
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, Page, ResourceId, WithoutNul, error_responses, ok
from platform_api.errors import ApiError
from platform_api.media import image_url_for, object_store
from platform_api.pagination import PageParamsDep
from platform_api.public_reads import public_read
from platform_api.styles import service, training
from platform_api.styles.schemas import StyleForm, StyleOut, StyleSort, StyleUpdate

router = APIRouter(prefix="/styles", tags=["styles"])

ARTIST_WRITE = (errors.UNAUTHORIZED, errors.CSRF_FAILED, errors.ARTIST_ONLY)


def _start_training(request: Request, db, style):
    state = request.app.state
    return training.start_run(db, style, state.training_jobs, state.settings, state.session_factory)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[StyleOut],
    responses=error_responses(*ARTIST_WRITE, errors.STYLE_LIMIT_REACHED, errors.INVALID_IMAGE_FORMAT,
                              errors.IMAGE_SIZE_EXCEEDED, errors.IMAGE_TOO_SMALL),
)
async def create_style(
    request: Request,
    db: SessionDep,
    user: CurrentArtist,
    form: Annotated[StyleForm, Form()],
    images: Annotated[list[UploadFile], File(description="10 to 100 JPG/PNG images, at least 512×512, 10 MB each")],
):
    """Upload the training images; training starts as a Ray job and the style is `pending` until it runs."""
    style = await service.create_style(db, object_store(request), user, form, images)
    await _start_training(request, db, style)
    [view] = await service.views(db, [style], user, image_url_for(request))
    return ok(view)


@router.get("", response_model=Envelope[Page[StyleOut]],
            responses=error_responses(errors.INVALID_CURSOR, errors.UNAUTHORIZED))
async def list_styles(
    request: Request,
    db: SessionDep,
    user: OptionalUser,
    page: PageParamsDep,
    sort: StyleSort = "recent",
    tag: Annotated[str | None, Query(max_length=50), WithoutNul] = None,
    following: Annotated[bool, Query(description="only the styles of artists I follow (signed in)")] = False,
):
    """Trained styles: `recent` (newest first) or `popular` (most generations, then newest); `following=true`:
    only those of the artists the signed-in reader follows."""
    if following and user is None:
        raise ApiError(errors.UNAUTHORIZED)

    async def render():
        followed_by = user.id if following else None
        result = await service.list_styles(db, page, sort=sort, tag=tag, followed_by=followed_by)
        views = await service.row_views(db, result.rows, user, image_url_for(request))
        return ok(Page(results=views, next_cursor=result.next_cursor, has_more=result.has_more))

    return await public_read(request, user, render)


@router.get("/me", response_model=Envelope[list[StyleOut]], responses=error_responses(errors.UNAUTHORIZED,
                                                                                       errors.ARTIST_ONLY))
async def my_styles(request: Request, db: SessionDep, user: CurrentArtist):
    return ok(await service.views(db, await service.my_styles(db, user), user, image_url_for(request)))


@router.get("/{style_id}", response_model=Envelope[StyleOut], responses=error_responses(errors.NOT_FOUND))
async def get_style(style_id: ResourceId, request: Request, db: SessionDep, user: OptionalUser):
    """A style with `progress` while it trains; its artist also sees sample images and training details."""
    return ok(await service.view_for_viewer(db, style_id, user, image_url_for(request)))


@router.patch(
    "/{style_id}",
    response_model=Envelope[StyleOut],
    responses=error_responses(*ARTIST_WRITE, errors.NOT_FOUND, errors.FORBIDDEN, errors.CONFLICT),
)
async def update_style(style_id: ResourceId, body: StyleUpdate, request: Request, db: SessionDep, user: CurrentArtist):
    style = await service.update_style(db, await service.owned_style(db, style_id, user), body)
    [view] = await service.views(db, [style], user, image_url_for(request))
    return ok(view)


@router.post(
    "/{style_id}/retrain",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=Envelope[StyleOut],
    responses=error_responses(*ARTIST_WRITE, errors.NOT_FOUND, errors.FORBIDDEN, errors.CONFLICT),
)
async def retrain_style(style_id: ResourceId, request: Request, db: SessionDep, user: CurrentArtist):
    """Train a failed style again from its stored images."""
    style = await service.owned_style(db, style_id, user)
    if style.training_status != "failed":
        raise ApiError(errors.CONFLICT, details={"training_status": style.training_status})
    await _start_training(request, db, style)
    [view] = await service.views(db, [style], user, image_url_for(request))
    return ok(view)


@router.post(
    "/{style_id}/training/cancel",
    response_model=Envelope[StyleOut],
    responses=error_responses(*ARTIST_WRITE, errors.NOT_FOUND, errors.FORBIDDEN, errors.CONFLICT),
)
async def cancel_training(style_id: ResourceId, request: Request, db: SessionDep, user: CurrentArtist):
    """Stop the style's training run: the style is failed ("cancelled by the artist") and can be retrained."""
    style = await service.owned_style(db, style_id, user)
    await training.cancel_run(db, style, request.app.state.training_jobs, object_store(request))
    [view] = await service.views(db, [style], user, image_url_for(request))
    return ok(view)

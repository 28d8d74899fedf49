"""Profiles, becoming an artist and leaving (spec §6.2.1, §10.1)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Form, Request, Response, UploadFile
from pydantic import BaseModel

from core.images import ImagePurpose
from platform_api import errors
from platform_api.auth import sessions
from platform_api.auth.principal import CurrentUser, OptionalUser
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, ResourceId, error_responses, ok
from platform_api.errors import ApiError
from platform_api.media import delete_objects_later, image_url_for, store_upload
from platform_api.users import service
from platform_api.users.schemas import ArtistUpgradeForm, ProfileUpdate, UserPrivate, UserPublic

router = APIRouter(prefix="/users", tags=["users"])

IMAGE_ERRORS = (errors.INVALID_IMAGE_FORMAT, errors.IMAGE_SIZE_EXCEEDED)
SIGNED_IN_WRITE_ERRORS = (errors.UNAUTHORIZED, errors.CSRF_FAILED)


class AccountClosed(BaseModel):
    outcome: str


@router.get("/{user_id}", response_model=Envelope[UserPublic], responses=error_responses(errors.NOT_FOUND))
async def get_user(user_id: ResourceId, request: Request, db: SessionDep, viewer: OptionalUser):
    return ok(await service.public_profile(db, user_id, image_url_for(request), viewer.id if viewer else None))


@router.patch(
    "/me",
    response_model=Envelope[UserPrivate],
    responses=error_responses(*SIGNED_IN_WRITE_ERRORS, errors.USERNAME_TAKEN),
)
async def update_me(body: ProfileUpdate, request: Request, db: SessionDep, user: CurrentUser):
    await service.update_profile(db, user, body)
    return ok(UserPrivate.of(user, image_url_for(request)))


@router.put(
    "/me/profile-image",
    response_model=Envelope[UserPrivate],
    responses=error_responses(*SIGNED_IN_WRITE_ERRORS, *IMAGE_ERRORS),
)
async def put_profile_image(
    request: Request, db: SessionDep, user: CurrentUser, image: Annotated[UploadFile, File()]
):
    key = await store_upload(request, image, purpose=ImagePurpose.profile, owner_id=user.id)
    delete_objects_later(request, db, [service.replace_profile_image(user, key)])
    return ok(UserPrivate.of(user, image_url_for(request)))


@router.delete("/me/profile-image", response_model=Envelope[UserPrivate], responses=error_responses(*SIGNED_IN_WRITE_ERRORS))
async def delete_profile_image(request: Request, db: SessionDep, user: CurrentUser):
    delete_objects_later(request, db, [service.replace_profile_image(user, None)])
    return ok(UserPrivate.of(user, image_url_for(request)))


@router.post(
    "/me/upgrade-to-artist",
    response_model=Envelope[UserPrivate],
    responses=error_responses(*SIGNED_IN_WRITE_ERRORS, *IMAGE_ERRORS, errors.ALREADY_ARTIST),
)
async def upgrade_to_artist(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    form: Annotated[ArtistUpgradeForm, Form()],
    signature_image: Annotated[UploadFile, File()],
):
    if user.artist is not None:
        raise ApiError(errors.ALREADY_ARTIST)
    key = await store_upload(request, signature_image, purpose=ImagePurpose.signature, owner_id=user.id)
    await service.become_artist(
        db, user, artist_name=form.artist_name, verified_email=form.verified_email, signature_key=key
    )
    return ok(UserPrivate.of(user, image_url_for(request)))


@router.delete("/me", response_model=Envelope[AccountClosed], responses=error_responses(*SIGNED_IN_WRITE_ERRORS))
async def delete_me(request: Request, response: Response, db: SessionDep, user: CurrentUser):
    """Plain users and artists whose style was never used are deleted with their content; an artist whose
    style has generations is deactivated, keeping the style and its history for provenance."""
    outcome, orphaned = await service.leave(db, user)
    delete_objects_later(request, db, orphaned)
    sessions.clear_session_cookie(response, request.app.state.settings)
    return ok(AccountClosed(outcome=outcome))

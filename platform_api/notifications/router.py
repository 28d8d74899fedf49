"""Notifications (spec §6.9): the signed-in user's list with its unread count, and marking them read."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request

from db.models import Notification, User
from platform_api import errors
from platform_api.auth.principal import CurrentUser
from platform_api.community.cards import user_card
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, ResourceId, error_responses, ok
from platform_api.i18n import Language, negotiate
from platform_api.media import image_url_for
from platform_api.notifications import messages, service
from platform_api.notifications.schemas import NotificationOut, NotificationPage, ReadAll
from platform_api.pagination import PageParamsDep
from platform_api.users.schemas import ImageUrl

router = APIRouter(prefix="/notifications", tags=["notifications"])

SIGNED_IN = (errors.UNAUTHORIZED, errors.CSRF_FAILED)
AcceptLanguage = Annotated[str | None, Header()]


def _reader_language(reader: User, accept_language: str | None) -> Language:
    """The language the reader's client asks for; without one (a script), the account's preference."""
    return negotiate(accept_language) if accept_language else reader.preferred_language


def _out(notification: Notification, actor: User | None, language: Language, image_url: ImageUrl) -> NotificationOut:
    return NotificationOut(
        id=notification.id,
        type=notification.type,
        message=messages.render(notification.type, notification.data, actor.username if actor else None, language),
        data=notification.data,
        actor=user_card(actor, image_url) if actor else None,
        is_read=notification.is_read,
        read_at=notification.read_at,
        created_at=notification.created_at,
    )


@router.get("", response_model=Envelope[NotificationPage], responses=error_responses(*SIGNED_IN, errors.INVALID_CURSOR))
async def list_notifications(
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    page: PageParamsDep,
    unread_only: Annotated[bool, Query(description="only notifications not read yet")] = False,
    accept_language: AcceptLanguage = None,
):
    """Newest first, with the number still unread; the text is in the reader's language."""
    result = await service.list_notifications(db, user.id, page, unread_only=unread_only)
    language, image_url = _reader_language(user, accept_language), image_url_for(request)
    return ok(NotificationPage(
        results=[_out(row.Notification, row.User, language, image_url) for row in result.rows],
        next_cursor=result.next_cursor,
        has_more=result.has_more,
        unread_count=await service.unread_count(db, user.id),
    ))


@router.patch(
    "/{notification_id}/read",
    response_model=Envelope[NotificationOut],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND),
)
async def mark_read(
    notification_id: ResourceId,
    request: Request,
    db: SessionDep,
    user: CurrentUser,
    accept_language: AcceptLanguage = None,
):
    """Idempotent; someone else's notification is NOT_FOUND."""
    notification, actor = await service.mark_read(db, user.id, notification_id)
    return ok(_out(notification, actor, _reader_language(user, accept_language), image_url_for(request)))


@router.post("/read-all", response_model=Envelope[ReadAll], responses=error_responses(*SIGNED_IN))
async def mark_all_read(db: SessionDep, user: CurrentUser):
    marked = await service.mark_all_read(db, user.id)
    return ok(ReadAll(marked_read=marked, unread_count=0))

"""Community endpoints (spec §6.7): likes and comments on generations, follows, the feeds.

Reading is open to anonymous callers; what they see is what everyone may see (`visibility`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel

from db.models import Comment, User
from platform_api import errors
from platform_api.auth.principal import CurrentUser, OptionalUser
from platform_api.community import comments, feed, service
from platform_api.community.cards import artist_card, user_card
from platform_api.community.schemas import (
    CommentCreate,
    CommentEdit,
    CommentOut,
    FollowedArtist,
    FollowingFeedItem,
    FollowState,
    GenerationCard,
    LikeState,
)
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, Page, ResourceId, error_responses, ok
from platform_api.media import image_url_for
from platform_api.pagination import PageParamsDep
from platform_api.public_reads import public_read
from platform_api.users.schemas import ImageUrl

router = APIRouter(tags=["community"])

SIGNED_IN = (errors.UNAUTHORIZED, errors.CSRF_FAILED)


class CommentDeleted(BaseModel):
    id: int
    deleted: bool


def _comment_out(comment: Comment, author: User, image_url: ImageUrl, replies: list | None = None) -> CommentOut:
    return CommentOut(
        id=comment.id,
        generation_id=comment.generation_id,
        parent_id=comment.parent_id,
        content=None if comment.is_deleted else comment.content,
        author=None if comment.is_deleted else user_card(author, image_url),
        is_deleted=comment.is_deleted,
        is_edited=not comment.is_deleted and comment.updated_at > comment.created_at,
        created_at=comment.created_at,
        updated_at=comment.updated_at,
        replies=[_comment_out(row.Comment, row.User, image_url) for row in replies] if replies is not None else None,
    )


@router.post(
    "/generations/{generation_id}/like",
    response_model=Envelope[LikeState],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND),
)
async def like_generation(generation_id: ResourceId, db: SessionDep, user: CurrentUser):
    """Idempotent. Public images, or your own."""
    return ok(await service.like(db, user, generation_id))


@router.delete(
    "/generations/{generation_id}/like",
    response_model=Envelope[LikeState],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND),
)
async def unlike_generation(generation_id: ResourceId, db: SessionDep, user: CurrentUser):
    """Idempotent."""
    return ok(await service.unlike(db, user, generation_id))


@router.get(
    "/generations/{generation_id}/comments",
    response_model=Envelope[Page[CommentOut]],
    responses=error_responses(errors.NOT_FOUND, errors.INVALID_CURSOR),
)
async def list_comments(generation_id: ResourceId, request: Request, db: SessionDep, user: OptionalUser,
                        page: PageParamsDep):
    """Top-level comments newest first, each with all its replies oldest first."""
    result, replies = await comments.list_comments(db, generation_id, user.id if user else None, page)
    image_url = image_url_for(request)
    return ok(Page(
        results=[_comment_out(row.Comment, row.User, image_url, replies[row.Comment.id]) for row in result.rows],
        next_cursor=result.next_cursor,
        has_more=result.has_more,
    ))


@router.post(
    "/generations/{generation_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[CommentOut],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND, errors.REPLY_DEPTH_EXCEEDED),
)
async def add_comment(generation_id: ResourceId, body: CommentCreate, request: Request, db: SessionDep,
                      user: CurrentUser):
    """A comment, or with `parent_id` a reply to a top-level comment (a reply to a reply is
    REPLY_DEPTH_EXCEEDED). Plain text, 1–1000 characters."""
    comment = await comments.add_comment(db, user, generation_id, body)
    return ok(_comment_out(comment, user, image_url_for(request), [] if comment.parent_id is None else None))


@router.patch(
    "/comments/{comment_id}",
    response_model=Envelope[CommentOut],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND, errors.FORBIDDEN),
)
async def edit_comment(comment_id: ResourceId, body: CommentEdit, request: Request, db: SessionDep,
                       user: CurrentUser):
    """The author only."""
    comment = await comments.edit_comment(db, user, comment_id, body.content)
    return ok(_comment_out(comment, user, image_url_for(request)))


@router.delete(
    "/comments/{comment_id}",
    response_model=Envelope[CommentDeleted],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND, errors.FORBIDDEN),
)
async def delete_comment(comment_id: ResourceId, db: SessionDep, user: CurrentUser):
    """The author only. A comment with replies stays as a deleted placeholder; the replies stay."""
    await comments.delete_comment(db, user, comment_id)
    return ok(CommentDeleted(id=comment_id, deleted=True))


@router.post(
    "/users/{user_id}/follow",
    status_code=status.HTTP_201_CREATED,
    response_model=Envelope[FollowState],
    responses=error_responses(
        *SIGNED_IN, errors.NOT_FOUND, errors.NOT_AN_ARTIST, errors.SELF_FOLLOW_NOT_ALLOWED, errors.DUPLICATE_FOLLOW
    ),
)
async def follow_artist(user_id: ResourceId, db: SessionDep, user: CurrentUser):
    """Only artists can be followed; following twice is DUPLICATE_FOLLOW."""
    return ok(await service.follow(db, user, user_id))


@router.delete(
    "/users/{user_id}/follow",
    response_model=Envelope[FollowState],
    responses=error_responses(*SIGNED_IN, errors.NOT_FOUND),
)
async def unfollow_artist(user_id: ResourceId, db: SessionDep, user: CurrentUser):
    """NOT_FOUND when you do not follow this artist."""
    return ok(await service.unfollow(db, user, user_id))


@router.get(
    "/users/me/following",
    response_model=Envelope[Page[FollowedArtist]],
    responses=error_responses(errors.UNAUTHORIZED, errors.INVALID_CURSOR),
)
async def my_following(request: Request, db: SessionDep, user: CurrentUser, page: PageParamsDep):
    """The artists I follow, most recently followed first. (Artists' follower lists are not offered.)"""
    result = await service.following(db, user.id, page)
    image_url = image_url_for(request)
    return ok(Page(
        results=[artist_card(row, image_url, FollowedArtist, followed_at=row.followed_at) for row in result.rows],
        next_cursor=result.next_cursor,
        has_more=result.has_more,
    ))


@router.get("/feed", response_model=Envelope[Page[GenerationCard]], responses=error_responses(errors.INVALID_CURSOR))
async def public_feed(request: Request, db: SessionDep, user: OptionalUser, page: PageParamsDep):
    """Every public image, newest first."""
    async def render():
        cards, result = await feed.public_feed(db, user.id if user else None, page, image_url_for(request))
        return ok(Page(results=cards, next_cursor=result.next_cursor, has_more=result.has_more))

    return await public_read(request, user, render)


@router.get(
    "/feed/following",
    response_model=Envelope[Page[FollowingFeedItem]],
    responses=error_responses(errors.UNAUTHORIZED, errors.INVALID_CURSOR),
)
async def following_feed(request: Request, db: SessionDep, user: CurrentUser, page: PageParamsDep):
    """New public images in the styles of (or by) the artists I follow, and styles they finished training,
    newest first."""
    items, result = await feed.following_feed(db, user.id, page, image_url_for(request))
    return ok(Page(results=items, next_cursor=result.next_cursor, has_more=result.has_more))

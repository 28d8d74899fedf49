"""`GET /search` (spec §6.8) and tag moderation for operators (spec §2.1.7)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request

from platform_api import errors
from platform_api.auth.principal import AdminUser, OptionalUser
from platform_api.community.cards import artist_card, style_card
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, Page, ResourceId, WithoutNul, error_responses, ok
from platform_api.errors import ApiError
from platform_api.media import image_url_for
from platform_api.pagination import PageParamsDep
from platform_api.public_reads import public_read
from platform_api.search import service
from platform_api.search.schemas import (
    QUERY_MAX_CHARS,
    ArtistResult,
    SearchResults,
    SearchType,
    StyleResult,
    TagModeration,
    TagOut,
)

router = APIRouter()

ADMIN = (errors.UNAUTHORIZED, errors.FORBIDDEN)
SearchText = Annotated[str, Query(min_length=1, max_length=QUERY_MAX_CHARS, pattern=r"\S",
                                  description="what to look for; case-insensitive, matches inside words too"),
                      WithoutNul]


@router.get("/search", tags=["search"], response_model=Envelope[SearchResults],
            responses=error_responses(errors.INVALID_CURSOR))
async def search(
    request: Request, db: SessionDep, user: OptionalUser, q: SearchText, page: PageParamsDep,
    type: SearchType = SearchType.all,
):
    """Styles by tag and by name, artists by artist name and username; each result says what it `matched_by`.
    `type=all` returns the first page of both lists; a `cursor` pages one list, so it needs `type=styles` or
    `type=artists`."""
    if page.cursor and type is SearchType.all:
        raise ApiError(errors.INVALID_CURSOR, details={"reason": "page on with type=styles or type=artists"})

    async def render():
        image_url = image_url_for(request)
        styles = artists = None
        if type in (SearchType.all, SearchType.styles):
            found = await service.search_styles(db, q, page)
            styles = Page(
                results=[StyleResult(**style_card(row, image_url).model_dump(),
                                     matched_by="name" if service.matched_primary(row.score) else "tag")
                         for row in found.rows],
                next_cursor=found.next_cursor,
                has_more=found.has_more,
            )
        if type in (SearchType.all, SearchType.artists):
            found = await service.search_artists(db, q, page)
            artists = Page(
                results=[artist_card(row, image_url, ArtistResult,
                                     matched_by="name" if service.matched_primary(row.score) else "username")
                         for row in found.rows],
                next_cursor=found.next_cursor,
                has_more=found.has_more,
            )
        return ok(SearchResults(styles=styles, artists=artists))

    return await public_read(request, user, render)


@router.get("/tags", tags=["tags"], response_model=Envelope[Page[TagOut]],
            responses=error_responses(*ADMIN, errors.INVALID_CURSOR))
async def list_tags(
    db: SessionDep,
    admin: AdminUser,
    page: PageParamsDep,
    name: Annotated[str | None, Query(max_length=QUERY_MAX_CHARS, description="part of the tag's name"),
                    WithoutNul] = None,
    is_active: bool | None = None,
    is_flagged: bool | None = None,
):
    """Operators: every tag in name order, with how often it is used."""
    found = await service.list_tags(db, page, name=name, is_active=is_active, is_flagged=is_flagged)
    return ok(Page(results=[TagOut.model_validate(tag, from_attributes=True) for tag in found.rows],
                   next_cursor=found.next_cursor, has_more=found.has_more))


@router.patch("/tags/{tag_id}", tags=["tags"], response_model=Envelope[TagOut],
              responses=error_responses(*ADMIN, errors.CSRF_FAILED, errors.NOT_FOUND))
async def moderate_tag(tag_id: ResourceId, body: TagModeration, db: SessionDep, admin: AdminUser):
    """Operators: deactivate or flag a tag (it stops finding styles in search), or restore it."""
    tag = await service.moderate_tag(db, tag_id, body)
    await db.flush()
    return ok(TagOut.model_validate(tag, from_attributes=True))

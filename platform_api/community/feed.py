"""The feeds: every public image newest first, and what the artists I follow have been doing — new images in
their styles or by them, and styles they finished training — newest first (spec §2.1.8)."""

from __future__ import annotations

from sqlalchemy import BigInteger, ColumnElement, Select, bindparam, literal_column, or_, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import Artist, Follow, Generation, Style
from platform_api.community.cards import GENERATION_CARDS, generation_card, liked_by, style_card, style_cards
from platform_api.community.schemas import FollowingFeedItem, GenerationCard, StyleCard
from platform_api.community.visibility import listed_style, visible_generation
from platform_api.pagination import PageParams, Slice, paginate_rows
from platform_api.users.schemas import ImageUrl


def _kind(name: str) -> ColumnElement[str]:
    # A literal in the SQL text, not a parameter: PostgreSQL types the union's column from it.
    return literal_column(f"'{name}'").label("kind")


def _following_events() -> tuple[Select, list[ColumnElement]]:
    followed = select(Follow.following_id).where(Follow.follower_id == bindparam("reader_id", type_=BigInteger))
    images = (
        select(_kind("generation"), Generation.id.label("id"), Generation.created_at.label("at"))
        .join(Style, Style.id == Generation.style_id)
        .join(Artist, Artist.id == Style.artist_id)
        .where(visible_generation(None), or_(Artist.user_id.in_(followed), Generation.user_id.in_(followed)))
    )
    styles = (
        select(_kind("style"), Style.id.label("id"), Style.trained_at.label("at"))
        .join(Artist, Artist.id == Style.artist_id)
        .where(listed_style(), Style.trained_at.is_not(None), Artist.user_id.in_(followed))
    )
    events = union_all(images, styles).subquery("events")
    return select(events), [events.c.at, events.c.kind, events.c.id]


# Built once: building these costs more than PostgreSQL takes to run them. visible_generation(None) repeats
# the predicate of the partial index ix_generations_public_feed.
_PUBLIC_IMAGES = GENERATION_CARDS.where(visible_generation(None))
_EVENTS, _EVENT_KEYS = _following_events()


async def public_feed(db: AsyncSession, viewer_id: int | None, params: PageParams, image_url: ImageUrl
                      ) -> tuple[list[GenerationCard], Slice]:
    page = await paginate_rows(db, _PUBLIC_IMAGES, [Generation.created_at, Generation.id], params)
    liked = await liked_by(db, viewer_id, (row.id for row in page.rows))
    return [generation_card(row, image_url, liked) for row in page.rows], page


async def following_feed(db: AsyncSession, reader_id: int, params: PageParams, image_url: ImageUrl
                         ) -> tuple[list[FollowingFeedItem], Slice]:
    page = await paginate_rows(db, _EVENTS, _EVENT_KEYS, params, bind={"reader_id": reader_id})
    ids = {kind: [row.id for row in page.rows if row.kind == kind] for kind in ("generation", "style")}
    cards: dict[tuple[str, int], GenerationCard | StyleCard] = {}
    if ids["generation"]:
        liked = await liked_by(db, reader_id, ids["generation"])
        for row in await db.execute(_PUBLIC_IMAGES.where(Generation.id.in_(ids["generation"]))):
            cards["generation", row.id] = generation_card(row, image_url, liked)
    if ids["style"]:
        for row in await db.execute(style_cards().where(Style.id.in_(ids["style"]), listed_style())):
            cards["style", row.style_id] = style_card(row, image_url)
    # What changed between the two reads (an image made private) is left out.
    items = [
        FollowingFeedItem(kind=row.kind, at=row.at, **{row.kind: cards[row.kind, row.id]})
        for row in page.rows
        if (row.kind, row.id) in cards
    ]
    return items, page

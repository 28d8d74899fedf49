"""Search (spec §6.8, §8.5): styles by their tags and their name (the name is a tag), artists by artist name
and username. Case-insensitive; exact, prefix and partial matches, served by the pg_trgm GIN indexes.

Relevance: an exact match ranks above a prefix match, which ranks above a match inside the text; at the same
level a name ranks above a tag (styles) or a username (artists); then the more used style or the more followed
artist, then the newest. Each list pages with its own cursor.
"""

from __future__ import annotations

from sqlalchemy import (
    ColumnElement, Select, String, Subquery, bindparam, case, exists, func, or_, select, union_all,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from db.models import Artist, Style, Tag, User, style_tags
from platform_api import errors
from platform_api.community.cards import artist_cards, style_cards
from platform_api.community.visibility import listed_style
from platform_api.errors import ApiError
from platform_api.pagination import PageParams, Slice, paginate, paginate_rows
from platform_api.search.schemas import TagModeration


# The user's text, as bind parameters of statements built once (see `terms`).
_EXACT = bindparam("exact", type_=String)
_PREFIX = bindparam("prefix", type_=String)
_ANYWHERE = bindparam("anywhere", type_=String)


def terms(text: str) -> dict[str, str]:
    """The parameters for `text`: lowercased, with LIKE wildcards in it matching themselves."""
    exact = text.strip().lower()
    escaped = exact.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return {"exact": exact, "prefix": f"{escaped}%", "anywhere": f"%{escaped}%"}


def _found_in(column: ColumnElement[str]) -> ColumnElement[bool]:
    # ILIKE with a leading wildcard is what the gin_trgm_ops indexes serve.
    return column.ilike(_ANYWHERE, escape="\\")


def _score(column: ColumnElement[str], *, primary: bool) -> ColumnElement[int]:
    """Exact 4, prefix 2, inside 0; +1 for the primary field (a style's name, an artist's name)."""
    level = case((func.lower(column) == _EXACT, 4), (func.lower(column).like(_PREFIX, escape="\\"), 2), else_=0)
    return level + 1 if primary else level


def _best(hits: Select) -> Subquery:
    """One row per id with its best score: odd when the primary field matched best."""
    union = hits.subquery("hits")
    return select(union.c.id, func.max(union.c.score).label("score")).group_by(union.c.id).subquery("best")


def _style_search() -> tuple[Select, list[ColumnElement]]:
    name_tag = aliased(Tag)
    # The name is a tag too: a style is not found by a name an operator has deactivated or flagged as a tag.
    name_withdrawn = exists().where(
        name_tag.name == func.lower(Style.title), or_(~name_tag.is_active, name_tag.is_flagged)
    )
    by_name = select(Style.id.label("id"), _score(Style.title, primary=True).label("score")).where(
        _found_in(Style.title), ~name_withdrawn
    )
    by_tag = (
        select(style_tags.c.style_id.label("id"), _score(Tag.name, primary=False).label("score"))
        .join(Tag, Tag.id == style_tags.c.tag_id)
        .where(_found_in(Tag.name), Tag.is_active, ~Tag.is_flagged)
    )
    best = _best(union_all(by_name, by_tag))
    statement = style_cards().join(best, best.c.id == Style.id).where(listed_style())
    return statement, [best.c.score, Style.generation_count, Style.id]


def _artist_search() -> tuple[Select, list[ColumnElement]]:
    by_name = select(Artist.user_id.label("id"), _score(Artist.artist_name, primary=True).label("score")).where(
        _found_in(Artist.artist_name)
    )
    by_username = (
        select(User.id.label("id"), _score(User.username, primary=False).label("score"))
        .join(Artist, Artist.user_id == User.id)
        .where(_found_in(User.username))
    )
    best = _best(union_all(by_name, by_username))
    statement = artist_cards().join(best, best.c.id == User.id).where(User.is_active)
    return statement, [best.c.score, Artist.follower_count, User.id]


# Built once: SQLAlchemy spends more time building these than PostgreSQL spends running them.
_STYLES, _STYLE_KEYS = _style_search()
_ARTISTS, _ARTIST_KEYS = _artist_search()


async def search_styles(db: AsyncSession, text: str, params: PageParams) -> Slice:
    return await paginate_rows(db, _STYLES, _STYLE_KEYS, params, bind=terms(text))


async def search_artists(db: AsyncSession, text: str, params: PageParams) -> Slice:
    return await paginate_rows(db, _ARTISTS, _ARTIST_KEYS, params, bind=terms(text))


def matched_primary(score: int) -> bool:
    return score % 2 == 1


async def list_tags(db: AsyncSession, params: PageParams, *, name: str | None, is_active: bool | None,
                    is_flagged: bool | None) -> Slice:
    """Tags in name order, for operators."""
    statement = select(Tag)
    if name:
        statement = statement.where(Tag.name.ilike(terms(name)["anywhere"], escape="\\"))
    if is_active is not None:
        statement = statement.where(Tag.is_active == is_active)
    if is_flagged is not None:
        statement = statement.where(Tag.is_flagged == is_flagged)
    return await paginate(db, statement, [Tag.name], params, descending=False)


async def moderate_tag(db: AsyncSession, tag_id: int, changes: TagModeration) -> Tag:
    tag = await db.scalar(select(Tag).where(Tag.id == tag_id).with_for_update())
    if tag is None:
        raise ApiError(errors.NOT_FOUND)
    for field, value in changes.model_dump(exclude_none=True).items():
        setattr(tag, field, value)
    return tag

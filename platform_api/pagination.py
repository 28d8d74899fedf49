"""Cursor (keyset) pagination, spec §6.1.3, used by every list endpoint.

The cursor is an opaque URL-safe token holding the sort key of the last row sent; the next page continues
strictly after it, so rows inserted meanwhile never shift a page the way OFFSET would.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Sequence

from fastapi import Depends, Query
from sqlalchemy import ColumnElement, Row, Select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from platform_api import errors
from platform_api.errors import ApiError


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int


# async: a plain `def` dependency would cost every list request a hop to the thread pool.
async def _page_params(
    cursor: Annotated[str | None, Query(max_length=512, description="next_cursor of the previous page")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> PageParams:
    return PageParams(cursor=cursor, limit=limit)


PageParamsDep = Annotated[PageParams, Depends(_page_params)]


def encode_cursor(values: Sequence[Any]) -> str:
    encoded = [{"t": value.isoformat()} if isinstance(value, datetime) else value for value in values]
    raw = json.dumps(encoded, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != arity:
            raise ValueError("wrong arity")
        return [datetime.fromisoformat(v["t"]) if isinstance(v, dict) else _scalar(v) for v in values]
    except (ValueError, TypeError, KeyError, binascii.Error, UnicodeDecodeError):
        raise ApiError(errors.INVALID_CURSOR) from None


def _scalar(value: Any) -> Any:
    if isinstance(value, (int, str)) and not isinstance(value, bool):
        return value
    raise ValueError("unsupported cursor value")


@dataclass(frozen=True)
class Slice:
    rows: list[Any]
    next_cursor: str | None
    has_more: bool


async def paginate(
    session: AsyncSession,
    statement: Select,
    keys: Sequence[InstrumentedAttribute],
    params: PageParams,
    *,
    descending: bool = True,
) -> Slice:
    """Run `statement` ordered by `keys` (unique together, e.g. created_at + id) one page at a time.

    Returns the ORM rows (first column of each result row); the caller maps them to its public schema.
    """
    rows, has_more = await _page(session, statement, keys, params, descending)
    rows = [row[0] for row in rows]
    next_cursor = encode_cursor([getattr(rows[-1], key.key) for key in keys]) if has_more else None
    return Slice(rows=rows, next_cursor=next_cursor, has_more=has_more)


async def paginate_rows(
    session: AsyncSession,
    statement: Select,
    keys: Sequence[ColumnElement],
    params: PageParams,
    *,
    descending: bool = True,
    bind: dict[str, Any] | None = None,
) -> Slice:
    """`paginate` for statements that select several columns or sort by computed keys (a relevance score,
    the columns of a union). The keys are added to the selected columns; rows are whole result rows.
    `bind` fills the statement's bind parameters (a statement built once, at import, is much cheaper to run
    than one built per request)."""
    rows, has_more = await _page(session, statement.add_columns(*keys), keys, params, descending, bind)
    next_cursor = encode_cursor(list(rows[-1][-len(keys):])) if has_more else None
    return Slice(rows=rows, next_cursor=next_cursor, has_more=has_more)


async def _page(
    session: AsyncSession,
    statement: Select,
    keys: Sequence[ColumnElement],
    params: PageParams,
    descending: bool,
    bind: dict[str, Any] | None = None,
) -> tuple[list[Row], bool]:
    if params.cursor:
        after = decode_cursor(params.cursor, len(keys))
        key_tuple = tuple_(*keys)
        statement = statement.where(key_tuple < tuple_(*after) if descending else key_tuple > tuple_(*after))
    ordering = [key.desc() if descending else key.asc() for key in keys]
    result = await session.execute(statement.order_by(*ordering).limit(params.limit + 1), bind)
    rows = list(result.all())
    return rows[: params.limit], len(rows) > params.limit

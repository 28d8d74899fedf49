"""The response envelope of spec §6.1.3 and the schema bases every domain builds on."""

from __future__ import annotations

from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Path
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from platform_api import errors

T = TypeVar("T")


class Envelope(BaseModel, Generic[T]):
    success: Literal[True] = True
    data: T


class ErrorBody(BaseModel):
    code: str = Field(examples=["INSUFFICIENT_TOKENS"])
    message: str = Field(examples=["Not enough tokens."])
    details: dict[str, Any] = Field(default_factory=dict, examples=[{"required": 100, "available": 50}])
    request_id: str | None = None


class ErrorEnvelope(BaseModel):
    success: Literal[False] = False
    error: ErrorBody


class Page(BaseModel, Generic[T]):
    results: list[T]
    next_cursor: str | None
    has_more: bool


# A row id in a path: PostgreSQL ids are BIGINT, so a larger number is bad input, not a database error.
MAX_ID = 2**63 - 1
ResourceId = Annotated[int, Path(ge=1, le=MAX_ID)]


def refuse_nul(value: Any) -> Any:
    """PostgreSQL text cannot hold NUL: a NUL anywhere in what a client sends is bad input (422), not a
    database error (500)."""
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    if isinstance(value, (list, tuple)):
        for item in value:
            refuse_nul(item)
    elif isinstance(value, dict):
        for item in value.values():
            refuse_nul(item)
    return value


# For text query parameters: `Annotated[str | None, Query(...), WithoutNul]`.
WithoutNul = AfterValidator(refuse_nul)


class InputModel(BaseModel):
    """Base for what clients send (JSON bodies, forms, webhooks): strings trimmed, NUL refused."""

    model_config = ConfigDict(str_strip_whitespace=True)

    @field_validator("*", mode="before")
    @classmethod
    def _without_nul(cls, value: Any) -> Any:
        return refuse_nul(value)


class WriteModel(InputModel):
    """Base for request bodies: unknown fields are refused too, so a typo never passes silently."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# Parametrising a generic model builds a class lookup each time; one class serves every response (the route's
# response_model declares the precise type).
_AnyEnvelope = Envelope[Any]


def ok(data: T) -> Envelope[T]:
    return _AnyEnvelope(data=data)


def error_responses(*codes: errors.ErrorCode) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the given codes, grouped by status."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(code.status, []).append(code.code)
    return {
        status: {"model": ErrorEnvelope, "description": ", ".join(sorted(names))}
        for status, names in sorted(by_status.items())
    }


# Declared on every route: any request can be malformed, too large or too slow, rate limited or meet a
# server fault.
COMMON_ERROR_RESPONSES = error_responses(
    errors.BAD_REQUEST,
    errors.VALIDATION_ERROR,
    errors.PAYLOAD_TOO_LARGE,
    errors.REQUEST_TIMEOUT,
    errors.RATE_LIMITED,
    errors.INTERNAL_ERROR,
)

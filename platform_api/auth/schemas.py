from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, EmailStr, Field

from platform_api.auth.accounts import USERNAME_PATTERN
from platform_api.envelope import WriteModel
from platform_api.users.schemas import UserPrivate


class DevLogin(WriteModel):
    email: EmailStr
    username: str | None = Field(default=None, pattern=USERNAME_PATTERN)


class SignedIn(BaseModel):
    user: UserPrivate
    csrf_token: str


class CsrfToken(BaseModel):
    csrf_token: str


class ApiKeyCreate(WriteModel):
    name: str = Field(min_length=1, max_length=100)


class ApiKeyPublic(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    last_used_at: datetime | None


class ApiKeyIssued(ApiKeyPublic):
    key: str = Field(description="The secret, shown only in this response.")

"""Application errors: each code has its HTTP status and its message in English and Korean (spec §6.12).

Raise `ApiError(errors.INSUFFICIENT_TOKENS, details={...})`; one handler renders it in the envelope.
Routes list the codes they return with `error_responses(...)` so the OpenAPI document is complete.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from platform_api.i18n import Language


@dataclass(frozen=True)
class ErrorCode:
    code: str
    status: int
    en: str
    ko: str

    def message(self, language: Language) -> str:
        return self.ko if language == "ko" else self.en


class ApiError(Exception):
    """An answer for the client. `keep_changes=True` commits the request's transaction anyway: the request
    failed for the client, but what it learned must stay (a declined payment is recorded as failed)."""

    def __init__(
        self,
        error: ErrorCode,
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
    ):
        super().__init__(error.code)
        self.error = error
        self.details = details or {}
        self.headers = headers
        self.keep_changes = keep_changes


# Requests
BAD_REQUEST = ErrorCode("BAD_REQUEST", 400, "The request could not be read.", "요청을 읽을 수 없습니다.")
INVALID_CURSOR = ErrorCode("INVALID_CURSOR", 400, "The page cursor is not valid.", "페이지 커서가 올바르지 않습니다.")
VALIDATION_ERROR = ErrorCode("VALIDATION_ERROR", 422, "Some fields are not valid.", "입력값이 올바르지 않습니다.")
NOT_FOUND = ErrorCode("NOT_FOUND", 404, "Not found.", "찾을 수 없습니다.")
METHOD_NOT_ALLOWED = ErrorCode(
    "METHOD_NOT_ALLOWED", 405, "This method is not allowed here.", "허용되지 않는 메서드입니다."
)
CONFLICT = ErrorCode("CONFLICT", 409, "The request conflicts with the current state.", "현재 상태와 충돌하는 요청입니다.")
PAYLOAD_TOO_LARGE = ErrorCode("PAYLOAD_TOO_LARGE", 413, "The request body is too large.", "요청 본문이 너무 큽니다.")
REQUEST_TIMEOUT = ErrorCode(
    "REQUEST_TIMEOUT", 408, "The request body stopped arriving. Please try again.", "요청 본문 전송이 멈췄습니다. 다시 시도해 주세요."
)
UNSUPPORTED_MEDIA_TYPE = ErrorCode(
    "UNSUPPORTED_MEDIA_TYPE", 415, "This content type is not supported.", "지원하지 않는 콘텐츠 형식입니다."
)
RATE_LIMITED = ErrorCode(
    "RATE_LIMITED", 429, "Too many requests. Please try again later.", "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요."
)
IDEMPOTENCY_KEY_REUSED = ErrorCode(
    "IDEMPOTENCY_KEY_REUSED",
    422,
    "This Idempotency-Key was already used for a different request.",
    "이 Idempotency-Key는 이미 다른 요청에 사용되었습니다.",
)

# Authentication and permissions
UNAUTHORIZED = ErrorCode("UNAUTHORIZED", 401, "Please sign in.", "로그인이 필요합니다.")
FORBIDDEN = ErrorCode("FORBIDDEN", 403, "You do not have permission.", "권한이 없습니다.")
ARTIST_ONLY = ErrorCode("ARTIST_ONLY", 403, "Only artists can do this.", "작가만 이용할 수 있습니다.")
CSRF_FAILED = ErrorCode(
    "CSRF_FAILED", 403, "The security token is missing or invalid. Reload the page.", "보안 토큰이 없거나 올바르지 않습니다. 페이지를 새로고침해 주세요."
)

SIGN_IN_FAILED = ErrorCode(
    "SIGN_IN_FAILED", 400, "Sign-in could not be completed. Please try again.", "로그인을 완료할 수 없습니다. 다시 시도해 주세요."
)
EMAIL_NOT_VERIFIED = ErrorCode(
    "EMAIL_NOT_VERIFIED", 403, "Your Google account's email is not verified.", "Google 계정의 이메일이 인증되지 않았습니다."
)
ACCOUNT_DEACTIVATED = ErrorCode(
    "ACCOUNT_DEACTIVATED", 403, "This account has been deactivated.", "비활성화된 계정입니다."
)
SIGN_IN_UNAVAILABLE = ErrorCode(
    "SIGN_IN_UNAVAILABLE", 503, "Google sign-in is not configured.", "Google 로그인이 설정되지 않았습니다."
)

# Accounts
USERNAME_TAKEN = ErrorCode("USERNAME_TAKEN", 409, "This username is taken.", "이미 사용 중인 사용자 이름입니다.")
ALREADY_ARTIST = ErrorCode("ALREADY_ARTIST", 409, "You are already an artist.", "이미 작가입니다.")

# Tokens and payments
INSUFFICIENT_TOKENS = ErrorCode("INSUFFICIENT_TOKENS", 402, "Not enough tokens.", "토큰 잔액이 부족합니다.")
PAYMENT_FAILED = ErrorCode("PAYMENT_FAILED", 402, "The payment failed.", "결제에 실패했습니다.")

# Styles
STYLE_LIMIT_REACHED = ErrorCode(
    "STYLE_LIMIT_REACHED", 403, "You already have a style.", "이미 스타일을 보유하고 있습니다."
)
STYLE_NOT_READY = ErrorCode(
    "STYLE_NOT_READY", 422, "This style has not finished training.", "아직 학습이 완료되지 않은 스타일입니다."
)
TRAINING_FAILED = ErrorCode("TRAINING_FAILED", 500, "Training failed.", "학습에 실패했습니다.")

# Images
INVALID_IMAGE_FORMAT = ErrorCode(
    "INVALID_IMAGE_FORMAT", 422, "Only JPG and PNG images are accepted.", "JPG, PNG 이미지만 업로드할 수 있습니다."
)
IMAGE_SIZE_EXCEEDED = ErrorCode(
    "IMAGE_SIZE_EXCEEDED", 422, "The image is larger than 10 MB.", "이미지 크기가 10MB를 초과합니다."
)
IMAGE_TOO_SMALL = ErrorCode(
    "IMAGE_TOO_SMALL", 422, "The image is too small (training images need at least 512×512 pixels).",
    "이미지가 너무 작습니다 (학습 이미지는 최소 512×512 픽셀).",
)
GENERATION_FAILED = ErrorCode("GENERATION_FAILED", 500, "Image generation failed.", "이미지 생성에 실패했습니다.")

# Community
DUPLICATE_FOLLOW = ErrorCode("DUPLICATE_FOLLOW", 409, "You already follow this artist.", "이미 팔로우한 작가입니다.")
SELF_FOLLOW_NOT_ALLOWED = ErrorCode(
    "SELF_FOLLOW_NOT_ALLOWED", 400, "You cannot follow yourself.", "자기 자신은 팔로우할 수 없습니다."
)
REPLY_DEPTH_EXCEEDED = ErrorCode(
    "REPLY_DEPTH_EXCEEDED", 422, "Replies can only be one level deep.", "대댓글에는 답글을 달 수 없습니다."
)
NOT_AN_ARTIST = ErrorCode("NOT_AN_ARTIST", 422, "Only artists can be followed.", "작가만 팔로우할 수 있습니다.")

# Server
INTERNAL_ERROR = ErrorCode(
    "INTERNAL_ERROR", 500, "Something went wrong on our side.", "서버에서 문제가 발생했습니다."
)
SERVICE_UNAVAILABLE = ErrorCode(
    "SERVICE_UNAVAILABLE", 503, "The service is temporarily unavailable.", "서비스를 일시적으로 사용할 수 없습니다."
)

ALL_CODES: dict[str, ErrorCode] = {
    value.code: value for value in list(globals().values()) if isinstance(value, ErrorCode)
}

# The code an HTTP status maps to when Starlette or FastAPI raise it themselves.
_BY_STATUS = {
    400: BAD_REQUEST,
    401: UNAUTHORIZED,
    403: FORBIDDEN,
    404: NOT_FOUND,
    405: METHOD_NOT_ALLOWED,
    408: REQUEST_TIMEOUT,
    409: CONFLICT,
    413: PAYLOAD_TOO_LARGE,
    415: UNSUPPORTED_MEDIA_TYPE,
    422: VALIDATION_ERROR,
    429: RATE_LIMITED,
    503: SERVICE_UNAVAILABLE,
}


def for_status(status: int) -> ErrorCode:
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return INTERNAL_ERROR
    return ErrorCode(f"HTTP_{status}", status, BAD_REQUEST.en, BAD_REQUEST.ko)

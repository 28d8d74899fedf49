"""What the SDK raises: the API's own error envelope, kept whole, and problems found before any request."""

from __future__ import annotations

from typing import Any


class StyleLicenseError(Exception):
    """Base of every error the SDK raises."""


class ApiError(StyleLicenseError):
    """The API answered with an error envelope (or, from a proxy in front of it, something else)."""

    def __init__(self, status: int, code: str, message: str, details: dict[str, Any] | None = None,
                 request_id: str | None = None):
        super().__init__(f"{status} {code}: {message}" + (f" (request {request_id})" if request_id else ""))
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.request_id = request_id


class BatchFileError(StyleLicenseError):
    """A row of a prompts file cannot become a generation request; nothing was sent."""

    def __init__(self, line: int, problem: str):
        super().__init__(f"line {line}: {problem}")
        self.line = line
        self.problem = problem

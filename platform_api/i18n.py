"""The reader's language from Accept-Language: English by default, Korean when preferred."""

from __future__ import annotations

from typing import Literal

Language = Literal["en", "ko"]
SUPPORTED: tuple[Language, ...] = ("en", "ko")
DEFAULT: Language = "en"


def negotiate(accept_language: str | None) -> Language:
    """Pick the supported language with the highest q-value (ties keep header order)."""
    if not accept_language:
        return DEFAULT
    best: tuple[float, Language] | None = None
    for part in accept_language.split(",")[:20]:
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        if primary not in SUPPORTED:
            continue
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if quality > 0 and (best is None or quality > best[0]):
            best = (quality, primary)  # type: ignore[assignment]
    return best[1] if best else DEFAULT

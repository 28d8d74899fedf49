"""Where every object lives in the store (docs/storage.md).

Public objects (signed generated images, thumbnails, profile pictures) live under `public/`, everything else
under `private/`: a bucket policy or CDN may expose `public/` and nothing else. Names end in a random token,
so a public URL cannot be guessed from an id and a replaced object never collides with a cached one.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from core.images import ImagePurpose

PUBLIC = "public/"
PRIVATE = "private/"
MAX_KEY_LENGTH = 512  # the width of every *_key column

_VALID_KEY = re.compile(r"^(public|private)(/[A-Za-z0-9_-][A-Za-z0-9._-]*)+$")


class InvalidObjectKey(ValueError):
    pass


def check_key(key: str) -> str:
    """The key itself when it is one of ours; raises InvalidObjectKey for anything that could escape a
    directory or a bucket prefix (`..`, absolute paths, empty segments, odd characters)."""
    if len(key) > MAX_KEY_LENGTH or not _VALID_KEY.match(key) or "/." in key:
        raise InvalidObjectKey(f"not a valid object key: {key!r}")
    return key


def is_public(key: str) -> bool:
    return key.startswith(PUBLIC)


def _token() -> str:
    return secrets.token_urlsafe(12)


def user_upload(purpose: ImagePurpose, owner_id: int, extension: str) -> str:
    """A profile picture (public) or an artist's signature image (private)."""
    area = PUBLIC if purpose.is_public else PRIVATE
    return f"{area}users/{owner_id}/{purpose.value}/{_token()}.{extension}"


@dataclass(frozen=True)
class ArtworkKeys:
    original: str  # the clean re-encoded upload, private
    training: str  # the copy at the training resolution, private
    thumbnail: str  # 256×256 for the style pages, public


def training_copy_of(original_key: str) -> str:
    """The training copy stored beside an artwork's original (see `artwork`)."""
    return original_key.rsplit("/", 1)[0] + "/training.png"


def artwork(style_id: int, extension: str) -> ArtworkKeys:
    token = _token()
    return ArtworkKeys(
        original=f"{PRIVATE}styles/{style_id}/artworks/{token}/original.{extension}",
        training=f"{PRIVATE}styles/{style_id}/artworks/{token}/training.png",
        thumbnail=f"{PUBLIC}styles/{style_id}/artworks/{token}/thumbnail.webp",
    )


def training_run(style_id: int, run_id: int) -> str:
    """The private prefix a training run writes its adapters, samples and manifest under."""
    return f"{PRIVATE}styles/{style_id}/runs/{run_id}/"


# The folder of a run's per-epoch adapters, under its output dir and its prefix alike.
EPOCH_ADAPTERS = "epochs"


@dataclass(frozen=True)
class GenerationKeys:
    image: str  # the signed image, public
    thumbnail: str  # 256×256 preview of the signed image, public


def generation(generation_id: int, extension: str) -> GenerationKeys:
    token = _token()
    return GenerationKeys(
        image=f"{PUBLIC}generations/{generation_id}/{token}.{extension}",
        thumbnail=f"{PUBLIC}generations/{generation_id}/{token}-thumbnail.webp",
    )

"""`POST /api/v1/verify`: anyone may ask where an image comes from (public; its own per-IP rate limit)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Request, UploadFile

from core.images import MAX_UPLOAD_BYTES, ImageRejected
from platform_api import errors
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, error_responses, ok
from platform_api.errors import ApiError
from platform_api.rate_limit import VerifyLimit
from platform_api.verify import service
from platform_api.verify.schemas import Verification

router = APIRouter(prefix="/verify", tags=["verify"])


@router.post(
    "",
    response_model=Envelope[Verification],
    responses=error_responses(errors.INVALID_IMAGE_FORMAT, errors.IMAGE_SIZE_EXCEEDED, errors.RATE_LIMITED),
)
async def verify_image(request: Request, db: SessionDep, image: Annotated[UploadFile, File()], _: VerifyLimit):
    """Reads the image's content credentials, watermark and metadata; when one of the first two proves a
    generation of this platform, returns its artist, style and generation."""
    data = await image.read(MAX_UPLOAD_BYTES + 1)  # one byte more than allowed is enough to refuse it
    try:
        return ok(await service.verify(db, data, request.app.state.provenance_keys))
    except ImageRejected as rejected:
        raise ApiError(errors.ALL_CODES[rejected.code], details={"reason": rejected.reason}) from None

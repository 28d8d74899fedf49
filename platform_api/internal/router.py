"""Callbacks from Ray work (spec §6.10): bearer INTERNAL_API_TOKEN, compared in constant time."""

from __future__ import annotations

from fastapi import APIRouter, Request

from core.contracts import TrainingCompletion, TrainingFailure, TrainingProgressReport
from platform_api import errors
from platform_api.auth.principal import Internal
from platform_api.database import SessionDep
from platform_api.envelope import Envelope, ResourceId, error_responses, ok
from platform_api.media import object_store
from platform_api.styles import training

router = APIRouter(prefix="/internal", tags=["internal"])

INTERNAL_ERRORS = error_responses(errors.UNAUTHORIZED, errors.FORBIDDEN, errors.NOT_FOUND)


@router.post("/training-runs/{run_id}/progress", response_model=Envelope[None],
             responses=error_responses(errors.UNAUTHORIZED, errors.FORBIDDEN, errors.NOT_FOUND, errors.CONFLICT))
async def training_progress(run_id: ResourceId, body: TrainingProgressReport, db: SessionDep, _: Internal):
    """409 CONFLICT once the run is cancelled: the job stops on it."""
    await training.record_progress(db, run_id, body)
    return ok(None)


@router.post("/training-runs/{run_id}/complete", response_model=Envelope[None], responses=INTERNAL_ERRORS)
async def training_complete(run_id: ResourceId, body: TrainingCompletion, db: SessionDep, _: Internal):
    await training.complete_run(db, run_id, body)
    return ok(None)


@router.post("/training-runs/{run_id}/fail", response_model=Envelope[None], responses=INTERNAL_ERRORS)
async def training_failed(run_id: ResourceId, body: TrainingFailure, request: Request, db: SessionDep,
                          _: Internal):
    await training.fail_run(db, run_id, body.reason, object_store(request))
    return ok(None)

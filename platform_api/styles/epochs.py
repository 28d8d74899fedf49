"""The epochs of a style's finished training run: what its artist sees of each (scores, samples) and which one new
generations draw with (docs/training.md, Choosing an epoch).

The run's manifest lists every epoch's samples and, for the kept ones, its adapter, as paths under the run's
storage prefix; the style's `adapter_key` is the chosen epoch's adapter.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import BaseModel, Field, ValidationError

from core import storage_keys
from core.storage_keys import InvalidObjectKey
from db.models import Style, TrainingRun
from platform_api import errors
from platform_api.errors import ApiError
from platform_api.styles.schemas import EpochScore, TrainingScores


class _EpochOutput(BaseModel):
    epoch: int = Field(ge=1)
    samples: list[str]
    adapter: str | None  # null once better epochs pushed it out


class _RunOutputs(BaseModel):
    """What the API reads of a finished run's manifest (training_jobs.train.Manifest)."""

    loss_per_epoch: list[float]
    heldout_loss_per_epoch: list[float]
    base_heldout_loss: float | None
    best_epoch: int = Field(ge=1)
    epoch_outputs: list[_EpochOutput]


def checked_outputs(prefix: str, manifest: dict) -> None:
    """Refuse a completion whose epochs the API could not read, or whose files would lie outside the run's
    prefix. A manifest without epochs (written before they were kept) is stored as it is."""
    if "epoch_outputs" not in manifest:
        return
    try:
        outputs = _RunOutputs.model_validate(manifest)
        for output in outputs.epoch_outputs:
            for path in [*output.samples, *([output.adapter] if output.adapter else [])]:
                storage_keys.check_key(prefix + path)
    except (ValidationError, InvalidObjectKey) as error:
        raise ApiError(errors.VALIDATION_ERROR, details={"reason": f"unreadable epoch outputs: {error}"}) from None


def _outputs(run: TrainingRun) -> _RunOutputs | None:
    manifest = run.manifest or {}
    return _RunOutputs.model_validate(manifest) if "epoch_outputs" in manifest else None


def _prefix(run: TrainingRun) -> str:
    return storage_keys.training_run(run.style_id, run.id)


def scores(run: TrainingRun, adapter_key: str | None, image_url: Callable[[str], str | None]
           ) -> TrainingScores | None:
    """The artist's view of a finished run; None while it trains, and for a run trained before epochs were
    kept."""
    outputs = _outputs(run)
    if outputs is None:
        return None
    prefix, heldout, rows = _prefix(run), outputs.heldout_loss_per_epoch, []
    for output, loss in zip(outputs.epoch_outputs, outputs.loss_per_epoch, strict=True):
        adapter = output.adapter and prefix + output.adapter
        rows.append(EpochScore(
            epoch=output.epoch, training_loss=loss, heldout_loss=heldout[output.epoch - 1] if heldout else None,
            sample_image_urls=[image_url(prefix + path) for path in output.samples],
            adapter_kept=adapter is not None, in_use=adapter is not None and adapter == adapter_key,
        ))
    return TrainingScores(base_heldout_loss=outputs.base_heldout_loss, best_epoch=outputs.best_epoch, epochs=rows)


def choose(style: Style, run: TrainingRun | None, epoch: int) -> None:
    """Draw the trained style's new generations with the adapter of `epoch` of its run (locked by the caller)."""
    if style.training_status != "completed" or run is None or run.status != "succeeded":
        raise ApiError(errors.CONFLICT, details={"training_status": style.training_status})
    outputs = _outputs(run)
    adapters = {output.epoch: output.adapter for output in outputs.epoch_outputs if output.adapter} if outputs else {}
    if epoch not in adapters:
        message = f"epoch {epoch} has no kept adapter; kept epochs: {sorted(adapters)}"
        raise ApiError(errors.VALIDATION_ERROR, details={"errors": [{"loc": ["body", "epoch"], "message": message}]})
    style.adapter_key = _prefix(run) + adapters[epoch]

"""The epochs of a style's finished training run: what its artist sees of each (scores, samples) and which one new
generations draw with (docs/training.md, Choosing an epoch).

The run's manifest lists every epoch's samples and, for the kept ones, its adapter, as paths under the run's
storage prefix; the style's `adapter_key` is the chosen epoch's adapter.
"""

from __future__ import annotations

from collections.abc import Callable

from core import storage_keys
from db.models import Style, TrainingRun
from platform_api import errors
from platform_api.errors import ApiError
from platform_api.styles.schemas import EpochScore, TrainingScores


def checked_outputs(prefix: str, manifest: dict) -> None:
    """Refuse a completion whose epoch outputs would name objects outside the run's prefix."""
    for output in manifest.get("epoch_outputs", []):
        for path in [*output["samples"], *([output["adapter"]] if output["adapter"] else [])]:
            if path.startswith("/") or ".." in path.split("/"):
                raise ApiError(errors.VALIDATION_ERROR, details={"reason": f"outputs must be under {prefix}"})


def _prefix(run: TrainingRun) -> str:
    return storage_keys.training_run(run.style_id, run.id)


def scores(run: TrainingRun, adapter_key: str | None, image_url: Callable[[str], str | None]
           ) -> TrainingScores | None:
    """The artist's view of a finished run; None for a run without a manifest or one trained before epochs
    were kept."""
    manifest = run.manifest or {}
    if "epoch_outputs" not in manifest:
        return None
    prefix, heldout = _prefix(run), manifest["heldout_loss_per_epoch"]
    rows = []
    for output, loss in zip(manifest["epoch_outputs"], manifest["loss_per_epoch"], strict=True):
        adapter = output["adapter"] and prefix + output["adapter"]
        rows.append(EpochScore(
            epoch=output["epoch"], training_loss=loss,
            heldout_loss=heldout[output["epoch"] - 1] if heldout else None,
            sample_image_urls=[image_url(prefix + path) for path in output["samples"]],
            adapter_kept=adapter is not None, in_use=adapter is not None and adapter == adapter_key,
        ))
    return TrainingScores(base_heldout_loss=manifest["base_heldout_loss"], best_epoch=manifest["best_epoch"],
                          epochs=rows)


def choose(style: Style, run: TrainingRun | None, epoch: int) -> None:
    """Draw the trained style's new generations with the adapter of `epoch` of its run (locked by the caller)."""
    if style.training_status != "completed" or run is None or run.status != "succeeded":
        raise ApiError(errors.CONFLICT, details={"training_status": style.training_status})
    outputs = {output["epoch"]: output for output in (run.manifest or {}).get("epoch_outputs", [])}
    adapter = outputs.get(epoch, {}).get("adapter")
    if adapter is None:
        kept = sorted(number for number, output in outputs.items() if output["adapter"])
        raise ApiError(errors.VALIDATION_ERROR, details={"errors": [
            {"loc": ["body", "epoch"], "message": f"epoch {epoch} has no kept adapter; kept epochs: {kept}"}]})
    style.adapter_key = _prefix(run) + adapter

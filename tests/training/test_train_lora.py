"""train_lora on the tiny models (SD 1.x and SDXL shaped): real diffusers + peft code, a handful of steps."""

from __future__ import annotations

import json
import math

import pytest
import torch
from PIL import Image
from safetensors import safe_open

from core.diffusion import BaseModelError, Device, load_pipeline
from core.diffusion.lora import AdapterMismatch, adapter_base
from serve_apps.generation.pipeline import StylePipeline
from tests.helpers import tiny_model_of, tiny_training_recipe
from tests.training.conftest import painted
from training_jobs import train
from training_jobs.train import (
    ADAPTER_FILE,
    MANIFEST_FILE,
    TrainingDiverged,
    TrainingExample,
    TrainingNotBetter,
    TrainingSpec,
    TrainingStopped,
    _Trainer,
    caption,
    checkpoints,
    prune_checkpoints,
    train_lora,
)

CPU = Device("cpu", torch.float32)


def _spec(tiny_model, artworks, output_dir, **overrides) -> TrainingSpec:
    values = dict(
        base_model=tiny_model,
        examples=[TrainingExample(path, caption(["bands", f"n{i}"], "test style")) for i, path in enumerate(artworks)],
        output_dir=output_dir, trigger_tag="test style", recipe=tiny_training_recipe(batch_size=2),
        sample_prompts=("cat",),
    )
    return TrainingSpec(**(values | overrides))


def test_caption_puts_the_trigger_tag_first_once():
    assert caption(["Portrait", "test style", " anime "], "test style") == "test style, portrait, anime"


@pytest.mark.parametrize(("family", "other_family"), [("sd1", "sdxl"), ("sdxl", "sd1")])
def test_training_writes_a_diffusers_adapter_that_changes_the_output(family, other_family, artworks, tmp_path,
                                                                     request):
    tiny_model = tiny_model_of(request, family)
    seen = []
    manifest = train_lora(_spec(tiny_model, artworks, tmp_path), on_progress=seen.append, device=CPU)

    assert [p.step for p in seen] == [1, 2, 3, 4] and seen[-1].percent == 100 and seen[-1].total_epochs == 2
    # One of the four images is held out: three train, in batches of two.
    assert manifest.steps == 4 and len(manifest.loss_per_epoch) == 2 and manifest.images == 4
    assert manifest.heldout_images == 1 and len(manifest.heldout_loss_per_epoch) == 2
    assert all(math.isfinite(loss) for loss in [*manifest.heldout_loss_per_epoch, manifest.base_heldout_loss])
    assert json.loads((tmp_path / MANIFEST_FILE).read_text())["adapter_sha256"] == manifest.adapter_sha256
    assert (tmp_path / manifest.samples[0]).exists()
    with safe_open(tmp_path / ADAPTER_FILE, "pt") as adapter:
        assert json.loads(adapter.metadata()["lora_adapter_metadata"])["unet.lora_alpha"] == 4
        assert any(key.startswith("unet.") and "lora.down" in key for key in adapter.keys())
    assert manifest.family == family and adapter_base(tmp_path / ADAPTER_FILE).family == family

    def image(with_adapter: bool):
        pipeline = load_pipeline(tiny_model, CPU)
        if with_adapter:
            pipeline.load_lora_weights(tmp_path, weight_name=ADAPTER_FILE)  # stock diffusers loading
        return torch.tensor(list(pipeline("test style, cat", num_inference_steps=2, height=64, width=64,
                                          generator=torch.Generator().manual_seed(3), output_type="np").images[0].flat))

    assert not torch.equal(image(True), image(False))
    # A replica of this family takes it; one of the other family refuses it before touching its UNet.
    StylePipeline.load(tiny_model, CPU).add_adapter("style", tmp_path / ADAPTER_FILE)
    other = StylePipeline.load(tiny_model_of(request, other_family), CPU)
    with pytest.raises(AdapterMismatch, match=f"\\({family}\\) and this replica draws with .* \\({other_family}\\)"):
        other.add_adapter("style", tmp_path / ADAPTER_FILE)
    assert other.adapters == set()


def test_a_stopped_run_resumes_from_its_last_checkpoint(tiny_model, artworks, tmp_path):
    steps = []

    def stop_in_epoch_two() -> bool:
        return len(steps) >= 3

    with pytest.raises(TrainingStopped):
        train_lora(_spec(tiny_model, artworks, tmp_path), on_progress=steps.append, should_stop=stop_in_epoch_two,
                   device=CPU)
    assert [c.name for c in checkpoints(tmp_path / "checkpoints")] == ["epoch-1"]

    resumed = []
    manifest = train_lora(_spec(tiny_model, artworks, tmp_path), on_progress=resumed.append, device=CPU)
    assert manifest.resumed_from_epoch == 1
    assert [p.step for p in resumed] == [3, 4] and resumed[0].steps_this_run == 1
    assert len(manifest.loss_per_epoch) == 2
    # The first attempt's epoch stays with the resumed one's.
    assert [(e["epoch"], e["adapter"]) for e in manifest.epoch_outputs] == [
        (1, "epochs/epoch-001.safetensors"), (2, "epochs/epoch-002.safetensors")]


def test_a_checkpoint_of_an_older_format_is_dropped_and_the_run_trains_afresh(tiny_model, artworks, tmp_path):
    with pytest.raises(TrainingStopped):
        train_lora(_spec(tiny_model, artworks, tmp_path), should_stop=lambda: bool(checkpoints(
            tmp_path / "checkpoints")), device=CPU)
    state_file = tmp_path / "checkpoints" / "epoch-1" / "state.pt"
    state = torch.load(state_file, weights_only=True)
    del state["format"]  # as written before each epoch kept its adapter
    torch.save(state, state_file)

    steps = []
    manifest = train_lora(_spec(tiny_model, artworks, tmp_path), on_progress=steps.append, device=CPU)
    assert manifest.resumed_from_epoch == 0 and [p.step for p in steps] == [1, 2, 3, 4]


def test_old_checkpoints_are_pruned(tmp_path):
    for epoch in range(1, 5):
        (tmp_path / f"epoch-{epoch}").mkdir()
        (tmp_path / f"epoch-{epoch}" / "state.pt").write_bytes(b"x")
    (tmp_path / "epoch-5").mkdir()  # unfinished: no state file yet
    prune_checkpoints(tmp_path, keep=2)
    assert [c.name for c in checkpoints(tmp_path)] == ["epoch-3", "epoch-4"]


def test_no_images_is_refused(tiny_model, tmp_path):
    with pytest.raises(ValueError):
        train_lora(_spec(tiny_model, [], tmp_path), device=CPU)


def test_a_base_model_that_cannot_be_used_stops_the_job_in_one_line(artworks, tmp_path):
    with pytest.raises(BaseModelError, match="sd_xl_base.safetensors'?: no such file") as refused:
        train_lora(_spec(str(tmp_path / "sd_xl_base.safetensors"), artworks, tmp_path / "out"), device=CPU)
    assert "\n" not in str(refused.value) and not (tmp_path / "out" / ADAPTER_FILE).exists()


def test_the_held_out_score_is_the_same_problem_every_time_and_the_base_models_before_training(
        tiny_model, artworks, tmp_path):
    trainer = _Trainer(_spec(tiny_model, artworks, tmp_path), CPU)
    assert len(trainer.training) == 3 and len(trainer.heldout) == 1
    # LoRA starts with B = 0: the untrained adapter scores exactly as the base model does.
    assert trainer.score() == trainer.score() == trainer.base_score()
    trainer.step([0, 1], torch.Generator().manual_seed(0))
    assert trainer.score() != trainer.base_score()


def test_a_run_whose_held_out_loss_is_not_a_number_fails_with_the_reason(tiny_model, artworks, tmp_path,
                                                                          monkeypatch):
    monkeypatch.setattr(train, "score", lambda *args: float("nan"))
    with pytest.raises(TrainingDiverged, match="held-out loss after epoch 1 is nan"):
        train_lora(_spec(tiny_model, artworks, tmp_path), device=CPU)
    assert not (tmp_path / ADAPTER_FILE).exists()


def test_a_run_whose_adapter_scores_no_better_than_the_base_model_fails_with_the_reason(tiny_model, artworks,
                                                                                       tmp_path, monkeypatch):
    monkeypatch.setattr(train, "score", lambda *args: 0.25)  # the adapter and the base model score the same
    recipe = tiny_training_recipe().model_copy(update={"require_better_than_base": True})
    with pytest.raises(TrainingNotBetter, match=r"no better than the base model .*\(loss 0.2500, base model 0.2500\)"):
        train_lora(_spec(tiny_model, artworks, tmp_path, recipe=recipe), device=CPU)
    assert not (tmp_path / ADAPTER_FILE).exists() and not (tmp_path / MANIFEST_FILE).exists()
    # The same run passes with the rule off: the rule, not something else, refused it.
    assert train_lora(_spec(tiny_model, artworks, tmp_path / "off"), device=CPU).best_epoch == 2


def test_the_best_scoring_epochs_adapters_stay_and_the_run_ends_with_the_best(tiny_model, artworks, tmp_path,
                                                                             monkeypatch):
    # The base model's score first, then one per epoch: epoch 2 is best, then 3; 1 and 4 fall out of two kept.
    scores = iter([0.5, 0.4, 0.3, 0.35, 0.45])
    monkeypatch.setattr(train, "score", lambda *args: next(scores))
    recipe = tiny_training_recipe(epochs=4).model_copy(update={"kept_epochs": 2, "require_better_than_base": True})
    outputs = []
    manifest = train_lora(_spec(tiny_model, artworks, tmp_path, recipe=recipe), on_epoch_end=outputs.append,
                          device=CPU)

    adapters = tmp_path / train.EPOCH_ADAPTERS
    assert [(o.epoch, o.adapter and o.adapter.name, [p.name for p in o.dropped_adapters]) for o in outputs] == [
        (1, "epoch-001.safetensors", []), (2, "epoch-002.safetensors", []),
        (3, "epoch-003.safetensors", ["epoch-001.safetensors"]), (4, None, [])]
    assert all(len(o.samples) == 1 and o.samples[0].exists() for o in outputs)  # every epoch's samples stay
    assert sorted(path.name for path in adapters.iterdir()) == ["epoch-002.safetensors", "epoch-003.safetensors"]
    assert manifest.best_epoch == 2 and manifest.samples == ["samples/epoch-002-0.png"]
    assert (tmp_path / ADAPTER_FILE).read_bytes() == (adapters / "epoch-002.safetensors").read_bytes()
    assert [(e["epoch"], e["adapter"]) for e in manifest.epoch_outputs] == [
        (1, None), (2, "epochs/epoch-002.safetensors"), (3, "epochs/epoch-003.safetensors"), (4, None)]
    assert manifest.epoch_outputs[3]["samples"] == ["samples/epoch-004-0.png"]


def test_images_of_different_shapes_train_in_batches_of_one_bucket_each_also_mirrored(tiny_model, tmp_path):
    shapes = [(96, 96), (64, 128), (96, 96), (64, 128), (96, 96)]
    examples = []
    for index, (width, height) in enumerate(shapes):
        path = painted(tmp_path / f"art-{index}.png", index, size=max(width, height))
        Image.open(path).resize((width, height)).save(path)
        examples.append(path)
    recipe = tiny_training_recipe().model_copy(update={"resolution": 128})
    trainer = _Trainer(_spec(tiny_model, examples, tmp_path / "out", holdout_images=0, recipe=recipe), CPU)
    assert {tuple(row.latents.shape[2:]) for row in trainer.training} == {(16, 16), (24, 8)}  # 128² and 192×64 px
    for batch in trainer.batches(0):
        assert len({tuple(trainer.training[i].latents.shape) for i in batch}) == 1
    assert all(row.mirrored is not None and not torch.equal(row.mirrored, row.latents) for row in trainer.training)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_the_base_stays_in_the_devices_dtype_and_the_lora_trains_in_fp32(family, artworks, tmp_path, request):
    trainer = _Trainer(_spec(tiny_model_of(request, family), artworks, tmp_path), Device("cpu", torch.bfloat16))
    assert {parameter.dtype for parameter in trainer.trainable} == {torch.float32}
    assert trainer.unet.conv_in.weight.dtype == torch.bfloat16
    # SDXL recomputes its activations in the backward pass (they dominate its memory at 1024²).
    assert trainer.unet.is_gradient_checkpointing == (family == "sdxl")
    loss = trainer.step([0, 1], torch.Generator().manual_seed(0))
    assert math.isfinite(loss)

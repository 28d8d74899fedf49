"""LoRA fine-tuning of a style: `train_lora(spec) -> manifest`, a plain function (no Ray, no HTTP, no argparse).

The recipe is diffusers' text-to-image LoRA reference, for SD 1.x and SDXL alike: frozen base model (in the
device's dtype: bf16 on a GPU), a PEFT LoRA adapter on the UNet's attention projections (its weights in fp32),
noise-prediction MSE on VAE latents with DDPM noise; what the UNet is conditioned on comes from the family
(`core.diffusion.families`: SDXL adds the pooled text and its size/crop time ids). Each epoch ends with a
checkpoint (LoRA weights + optimiser, so a retried job resumes), the epoch's adapter and sample images from fixed
prompts and seeds. The adapters of the best-scoring epochs stay (`recipe.kept_epochs`) for the artist to choose
from; the run ends with the best one. Adapters ship in diffusers' format with the base's identity
(`core.diffusion.lora`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from diffusers.training_utils import cast_training_params
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from safetensors.torch import load_file, save_file

from core.diffusion import Device, load_pipeline, training_scheduler
from core.diffusion.families import SDXL, family_of_pipeline, native_side
from core.diffusion.lora import BaseIdentity, lora_config, write_adapter
from core.storage_keys import EPOCH_ADAPTERS
from core.training_recipe import TrainingRecipe
from training_jobs.images import bucket_crop, buckets
from training_jobs.objective import noise_prediction_loss, score

ADAPTER_FILE = "pytorch_lora_weights.safetensors"
MANIFEST_FILE = "manifest.json"
_CHECKPOINT_PREFIX = "epoch-"
_CHECKPOINT_FORMAT = 2  # raise it when a checkpoint no longer carries what a resumed run needs
SAMPLES = "samples"


@dataclass(frozen=True)
class TrainingExample:
    image: Path
    caption: str


@dataclass(frozen=True)
class TrainingSpec:
    base_model: str  # a loadable pipeline folder or hub id
    examples: Sequence[TrainingExample]
    output_dir: Path
    trigger_tag: str
    recipe: TrainingRecipe = TrainingRecipe()  # core/training_recipe.py
    seed: int = 0
    sample_prompts: Sequence[str] = ("portrait", "landscape")
    keep_checkpoints: int = 2
    # Images kept out of training to score each epoch on; unset: TrainingRecipe.heldout_images.
    holdout_images: int | None = None

    @property
    def checkpoint_dir(self) -> Path:
        return self.output_dir / "checkpoints"


@dataclass(frozen=True)
class Progress:
    epoch: int
    total_epochs: int
    step: int
    total_steps: int
    loss: float
    elapsed_seconds: float
    steps_this_run: int  # a resumed run's pace counts only its own steps

    @property
    def percent(self) -> int:
        return min(100, math.floor(100 * self.step / self.total_steps)) if self.total_steps else 100

    @property
    def eta_seconds(self) -> int:
        if self.steps_this_run == 0:
            return 0
        return max(0, round(self.elapsed_seconds / self.steps_this_run * (self.total_steps - self.step)))


@dataclass(frozen=True)
class EpochOutput:
    """What one epoch left in the output dir, and the earlier epochs' adapters it pushed out of the kept set."""

    epoch: int
    adapter: Path | None  # None when it scored below the kept epochs
    samples: list[Path]
    dropped_adapters: list[Path]  # earlier epochs' only


@dataclass
class Manifest:
    base_model: str
    family: str
    base_architecture: str
    trigger_tag: str
    adapter_file: str
    adapter_sha256: str
    adapter_bytes: int
    rank: int
    alpha: int
    learning_rate: float
    batch_size: int
    repeats_per_epoch: int
    epochs: int
    steps: int
    resolution: int
    seed: int
    images: int
    loss_per_epoch: list[float]
    heldout_images: int
    # The denoising loss on the held-out images after each epoch, and the base model's (training_jobs/objective.py).
    heldout_loss_per_epoch: list[float]
    base_heldout_loss: float | None
    samples: list[str]  # the best epoch's
    # The epoch whose adapter is `adapter_file` (what the run ends with; its artist may choose another kept one):
    # the lowest held-out loss (the last one without held-out images).
    best_epoch: int
    # Per epoch: its number, its samples and its adapter (null once dropped), relative to the output dir.
    epoch_outputs: list[dict]
    duration_seconds: float
    resumed_from_epoch: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


class TrainingStopped(Exception):
    """`should_stop` asked to stop; the last checkpoint stays for a later resume."""


class TrainingNotBetter(ValueError):
    """The adapter draws the held-out images no better than the base model: publishing it would sell nothing."""


class TrainingDiverged(ValueError):
    """The held-out loss stopped being a number: nothing worth publishing was learned."""


def caption(tags: Sequence[str], trigger_tag: str) -> str:
    """The style's trigger tag first, then the image's own tags, each once."""
    ordered = [trigger_tag, *tags]
    return ", ".join(dict.fromkeys(tag.strip().lower() for tag in ordered if tag.strip()))


def checkpoints(directory: Path) -> list[Path]:
    """Finished epoch checkpoints, oldest first."""
    if not directory.exists():
        return []
    found = [p for p in directory.iterdir() if p.name.startswith(_CHECKPOINT_PREFIX) and (p / "state.pt").exists()]
    return sorted(found, key=lambda p: int(p.name.removeprefix(_CHECKPOINT_PREFIX)))


def prune_checkpoints(directory: Path, keep: int) -> None:
    for old in checkpoints(directory)[:-keep] if keep > 0 else checkpoints(directory):
        for file in old.iterdir():
            file.unlink()
        old.rmdir()


@dataclass(frozen=True)
class _Encoded:
    latents: torch.Tensor
    mirrored: torch.Tensor | None  # the mirrored image's latents, when training flips
    conditioning: dict[str, torch.Tensor]


@dataclass
class _History:
    losses: list[float] = field(default_factory=list)  # mean training loss per epoch
    heldout: list[float] = field(default_factory=list)  # held-out score after each epoch


def _split(count: int, holdout: int | None, seed: int) -> tuple[list[int], list[int]]:
    """Training and held-out example indices: a seeded draw, so a retried run holds out the same images."""
    if holdout is None:
        holdout = TrainingRecipe.heldout_images(count)
    order = list(range(count))
    random.Random(seed).shuffle(order)
    return sorted(order[holdout:]), sorted(order[:holdout])


class _Trainer:
    def __init__(self, spec: TrainingSpec, device: Device):
        self.spec = spec
        self.device = device
        pipeline = load_pipeline(spec.base_model, device)
        self.pipeline = pipeline
        self.family = family_of_pipeline(pipeline)
        self.recipe = spec.recipe.for_family(self.family.name)
        self.resolution = spec.recipe.resolution or native_side(pipeline)
        self.unet, self.vae = pipeline.unet, pipeline.vae
        for name in pipeline.components:
            if isinstance(getattr(pipeline, name), torch.nn.Module):
                getattr(pipeline, name).requires_grad_(False)
        self.base = BaseIdentity.of(self.family, self.unet, spec.base_model)
        self.lora_config = lora_config(self.recipe.rank, self.recipe.alpha)
        self.unet.add_adapter(self.lora_config)
        # The frozen base stays in the device's dtype (bf16 on a GPU); the LoRA weights the optimiser updates
        # are fp32, as in diffusers' reference scripts.
        cast_training_params(self.unet, dtype=torch.float32)
        self.trainable = [p for p in self.unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=self.recipe.learning_rate)
        # An fp16 base needs loss scaling, or the gradients underflow (bf16 has fp32's range and needs none).
        self.scaler = torch.amp.GradScaler(device.name, enabled=device.dtype == torch.float16)
        self.noise_scheduler = training_scheduler(pipeline)
        if self.family is SDXL:
            # SDXL's activations at 1024² dominate a training job's memory: recompute them in the backward pass.
            self.unet.enable_gradient_checkpointing()
        training, heldout = _split(len(spec.examples), spec.holdout_images, spec.seed)
        self.training = self._encode([spec.examples[i] for i in training], mirrored=spec.recipe.random_flip)
        self.repeats = spec.recipe.repeats_per_epoch(len(self.training))
        self.heldout = self._encode([spec.examples[i] for i in heldout], mirrored=False)

    @torch.no_grad()
    def _encode(self, examples: list[TrainingExample], *, mirrored: bool) -> list[_Encoded]:
        """Latents and the UNet's conditioning never change while only the LoRA trains: computed once (the
        mirrored image's latents too; its conditioning is the same, the crop being centred)."""
        options = buckets(self.resolution)
        encoded = []
        with self._vae_that_does_not_overflow() as vae:

            def latents(pixels: torch.Tensor) -> torch.Tensor:
                pixels = pixels.unsqueeze(0).to(self.device.name, vae.dtype)
                return (vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor).to(self.device.dtype)

            for example in examples:
                crop = bucket_crop(example.image, options)
                conditioning = self.family.prompt_conditioning(
                    self.pipeline, example.caption, original_size=crop.original_size, crop_top_left=crop.top_left,
                    target_size=crop.size)
                flipped = latents(crop.mirrored()) if mirrored else None
                encoded.append(_Encoded(latents(crop.pixels), flipped, conditioning))
        return encoded

    @contextmanager
    def _vae_that_does_not_overflow(self) -> Iterator[torch.nn.Module]:
        """SDXL's VAE overflows in fp16 (its config says `force_upcast`): encode in fp32 on a GPU without bf16."""
        upcast = self.vae.dtype == torch.float16 and self.vae.config.get("force_upcast", False)
        if upcast:
            self.vae.to(torch.float32)
        try:
            yield self.vae
        finally:
            if upcast:
                self.vae.to(torch.float16)

    def batches(self, epoch: int) -> list[list[int]]:
        """Shuffled batches of training examples, each example `repeats` times, each batch from one bucket (its
        latents share a shape)."""
        shuffle = random.Random(self.spec.seed * 100_003 + epoch).shuffle
        order = list(range(len(self.training))) * self.repeats
        shuffle(order)
        by_bucket: dict[tuple[int, ...], list[int]] = {}
        for index in order:
            by_bucket.setdefault(tuple(self.training[index].latents.shape), []).append(index)
        size = self.recipe.batch_size
        batches = [group[i:i + size] for group in by_bucket.values() for i in range(0, len(group), size)]
        shuffle(batches)
        return batches

    def step(self, indices: list[int], generator: torch.Generator) -> float:
        flips = torch.rand(len(indices), generator=generator, device=generator.device) < 0.5
        rows = [self.training[i] for i in indices]
        latents = torch.cat([row.mirrored if flip and row.mirrored is not None else row.latents
                             for row, flip in zip(rows, flips.tolist(), strict=True)])
        conditioning = {key: torch.cat([row.conditioning[key] for row in rows]) for key in rows[0].conditioning}
        loss = noise_prediction_loss(self.unet, self.noise_scheduler, latents, self.family.unet_inputs(conditioning),
                                     generator, min_snr_gamma=self.spec.recipe.min_snr_gamma)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def score(self) -> float | None:
        """The held-out denoising loss with the adapter as it is now (None without held-out images)."""
        if not self.heldout:
            return None
        examples = [(row.latents, row.conditioning) for row in self.heldout]
        return score(self.unet, self.noise_scheduler, examples, self.family.unet_inputs, self.spec.seed)

    def base_score(self) -> float | None:
        """The same score for the base model alone."""
        self.unet.disable_adapters()
        try:
            return self.score()
        finally:
            self.unet.enable_adapters()

    def lora_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(self.unet).items()}

    def save_checkpoint(self, epoch: int, history: _History) -> None:
        directory = self.spec.checkpoint_dir / f"{_CHECKPOINT_PREFIX}{epoch}"
        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.lora_state(), directory / "lora.safetensors")
        # Written last: a checkpoint counts only once its state file exists.
        torch.save({"epoch": epoch, **asdict(history), "optimizer": self.optimizer.state_dict(),
                    "format": _CHECKPOINT_FORMAT}, directory / "state.pt")
        prune_checkpoints(self.spec.checkpoint_dir, self.spec.keep_checkpoints)

    def resume(self) -> tuple[int, _History]:
        found = checkpoints(self.spec.checkpoint_dir)
        if not found:
            return 0, _History()
        latest = found[-1]
        state = torch.load(latest / "state.pt", weights_only=True)
        if state.get("format") != _CHECKPOINT_FORMAT:  # written before scores or epoch adapters: train afresh
            prune_checkpoints(self.spec.checkpoint_dir, 0)
            return 0, _History()
        set_peft_model_state_dict(self.unet, load_file(latest / "lora.safetensors"))
        self.optimizer.load_state_dict(state["optimizer"])
        return state["epoch"], _History(list(state["losses"]), list(state["heldout"]))

    @torch.no_grad()
    def samples(self, epoch: int) -> list[Path]:
        directory = self.spec.output_dir / SAMPLES
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, prompt in enumerate(self.spec.sample_prompts):
            image = self.pipeline(
                caption([prompt], self.spec.trigger_tag), num_inference_steps=self.spec.recipe.sample_steps,
                height=self.resolution, width=self.resolution,
                generator=torch.Generator().manual_seed(self.spec.seed + index),
            ).images[0]
            path = directory / f"{_epoch_name(epoch)}-{index}.png"
            image.save(path)
            paths.append(path)
        return paths

    def save_adapter(self, epoch: int) -> Path:
        path = epoch_adapter(self.spec.output_dir, epoch)
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_adapter(path, self.unet, self.lora_config, self.base)


def _epoch_name(epoch: int) -> str:
    return f"epoch-{epoch:03d}"


def epoch_adapter(output_dir: Path, epoch: int) -> Path:
    return output_dir / EPOCH_ADAPTERS / f"{_epoch_name(epoch)}.safetensors"


def epoch_samples(output_dir: Path, epoch: int) -> list[Path]:
    return sorted((output_dir / SAMPLES).glob(f"{_epoch_name(epoch)}-*.png"))


def _ranked(heldout: list[float], epochs: int) -> list[int]:
    """Epochs 1..`epochs`, best first: lowest held-out loss, the later of equals; latest first without scores."""
    if not heldout:
        return list(range(epochs, 0, -1))
    return sorted(range(1, epochs + 1), key=lambda epoch: (heldout[epoch - 1], -epoch))


def _drop_adapters_beyond(output_dir: Path, heldout: list[float], epochs: int, keep: int) -> list[Path]:
    """Delete the adapters of all but the `keep` best epochs so far; the deleted paths."""
    dropped = [epoch_adapter(output_dir, epoch) for epoch in _ranked(heldout, epochs)[keep:]]
    dropped = [path for path in dropped if path.exists()]
    for path in dropped:
        path.unlink()
    return dropped


def train_lora(
    spec: TrainingSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch_end: Callable[[EpochOutput], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: Device | None = None,
) -> Manifest:
    """Train the style's LoRA and write the adapter, samples and manifest to `spec.output_dir`.

    Resumes from the newest checkpoint in `spec.checkpoint_dir`. `on_progress` is called after every step,
    `on_epoch_end` with what the epoch left; `should_stop` is checked between steps.
    """
    if not spec.examples:
        raise ValueError("no training images")
    started = time.monotonic()
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec.seed)
    trainer = _Trainer(spec, device or Device.best())
    first_epoch, history = trainer.resume()
    base_score = trainer.base_score()
    steps_per_epoch = len(trainer.batches(0))
    total_steps = steps_per_epoch * spec.recipe.epochs
    generator = torch.Generator(device=trainer.device.name).manual_seed(spec.seed + first_epoch)
    done_this_run = 0
    for epoch in range(first_epoch, spec.recipe.epochs):
        epoch_losses = []
        for indices in trainer.batches(epoch):
            if should_stop and should_stop():
                raise TrainingStopped(f"stopped in epoch {epoch + 1}")
            epoch_losses.append(trainer.step(indices, generator))
            done_this_run += 1
            if on_progress:
                on_progress(Progress(
                    epoch=epoch + 1, total_epochs=spec.recipe.epochs, step=epoch * steps_per_epoch + len(epoch_losses),
                    total_steps=total_steps, loss=epoch_losses[-1], elapsed_seconds=time.monotonic() - started,
                    steps_this_run=done_this_run,
                ))
        history.losses.append(sum(epoch_losses) / len(epoch_losses))
        heldout = trainer.score()
        if heldout is not None:
            if not math.isfinite(heldout):
                raise TrainingDiverged(f"the held-out loss after epoch {epoch + 1} is {heldout}: training diverged")
            history.heldout.append(heldout)
        adapter, samples = trainer.save_adapter(epoch + 1), trainer.samples(epoch + 1)
        dropped = _drop_adapters_beyond(spec.output_dir, history.heldout, epoch + 1, spec.recipe.kept_epochs)
        # Written after the epoch's adapter: a run resumed from this checkpoint has it.
        trainer.save_checkpoint(epoch + 1, history)
        if on_epoch_end:
            on_epoch_end(EpochOutput(epoch + 1, None if adapter in dropped else adapter, samples,
                                     [path for path in dropped if path != adapter]))
    best = _ranked(history.heldout, spec.recipe.epochs)[0]
    _must_beat_the_base(spec.recipe, history.heldout[best - 1] if history.heldout else None, base_score)
    adapter = spec.output_dir / ADAPTER_FILE
    shutil.copyfile(epoch_adapter(spec.output_dir, best), adapter)
    data = adapter.read_bytes()

    def relative(path: Path) -> str:
        return path.relative_to(spec.output_dir).as_posix()
    manifest = Manifest(
        base_model=spec.base_model,
        family=trainer.family.name,
        base_architecture=trainer.base.architecture,
        trigger_tag=spec.trigger_tag,
        adapter_file=relative(epoch_adapter(spec.output_dir, best)),
        adapter_sha256=hashlib.sha256(data).hexdigest(),
        adapter_bytes=len(data),
        rank=trainer.recipe.rank,
        alpha=trainer.recipe.alpha,
        learning_rate=trainer.recipe.learning_rate,
        batch_size=trainer.recipe.batch_size,
        repeats_per_epoch=trainer.repeats,
        epochs=spec.recipe.epochs,
        steps=total_steps,
        resolution=trainer.resolution,
        seed=spec.seed,
        images=len(spec.examples),
        loss_per_epoch=[round(loss, 6) for loss in history.losses],
        heldout_images=len(trainer.heldout),
        heldout_loss_per_epoch=[round(loss, 6) for loss in history.heldout],
        base_heldout_loss=None if base_score is None else round(base_score, 6),
        samples=[relative(path) for path in epoch_samples(spec.output_dir, best)],
        best_epoch=best,
        epoch_outputs=[
            {"epoch": epoch, "samples": [relative(path) for path in epoch_samples(spec.output_dir, epoch)],
             "adapter": relative(epoch_adapter(spec.output_dir, epoch))
             if epoch_adapter(spec.output_dir, epoch).exists() else None}
            for epoch in range(1, spec.recipe.epochs + 1)
        ],
        duration_seconds=round(time.monotonic() - started, 3),
        resumed_from_epoch=first_epoch,
        versions=_versions(),
    )
    (spec.output_dir / MANIFEST_FILE).write_text(manifest.to_json())
    return manifest


def _must_beat_the_base(recipe: TrainingRecipe, best: float | None, base: float | None) -> None:
    """Refuse the run when its best epoch's held-out loss is not below the base model's."""
    if recipe.require_better_than_base and best is not None and base is not None and best >= base:
        raise TrainingNotBetter(
            f"the trained style scores no better than the base model on the held-out images (loss {best:.4f}, "
            f"base model {base:.4f}): more images, or images that share one style, train better")


def _versions() -> dict[str, str]:
    import diffusers
    import peft

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "peft": peft.__version__}

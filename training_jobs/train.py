"""LoRA fine-tuning of a style: `train_lora(spec) -> manifest`, a plain function (no Ray, no HTTP, no argparse).

The recipe is diffusers' text-to-image LoRA reference, for SD 1.x and SDXL alike: frozen base model (in the
device's dtype: bf16 on a GPU), a PEFT LoRA adapter on the UNet's attention projections (its weights in fp32),
noise-prediction MSE on VAE latents with DDPM noise; what the UNet is conditioned on comes from the family
(`core.diffusion.families`: SDXL adds the pooled text and its size/crop time ids). Each epoch ends with a
checkpoint (LoRA weights + optimiser, so a retried job resumes) and sample images from fixed prompts and seeds.
The adapter ships in diffusers' format with the base's identity (`core.diffusion.lora`).
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers.training_utils import cast_training_params
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from PIL import Image
from safetensors.torch import load_file, save_file

from core.diffusion import Device, load_pipeline, training_scheduler
from core.diffusion.families import family_of_pipeline, native_side
from core.diffusion.lora import BaseIdentity, lora_config, write_adapter

ADAPTER_FILE = "pytorch_lora_weights.safetensors"
MANIFEST_FILE = "manifest.json"
_CHECKPOINT_PREFIX = "epoch-"


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
    rank: int = 16
    alpha: int = 16
    learning_rate: float = 1e-4
    epochs: int = 10
    batch_size: int = 1
    resolution: int | None = None  # the square side trained at; unset: the base's native side
    seed: int = 0
    sample_prompts: Sequence[str] = ("portrait", "landscape")
    sample_steps: int = 20
    keep_checkpoints: int = 2

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
    epochs: int
    steps: int
    resolution: int
    seed: int
    images: int
    loss_per_epoch: list[float]
    samples: list[str]
    duration_seconds: float
    resumed_from_epoch: int = 0
    versions: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


class TrainingStopped(Exception):
    """`should_stop` asked to stop; the last checkpoint stays for a later resume."""


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


def noise_prediction_loss(unet, scheduler, latents: torch.Tensor, unet_inputs: dict,
                          generator: torch.Generator) -> torch.Tensor:
    """Diffusers' reference objective: predict the noise (or velocity) added at a random timestep."""
    noise = torch.randn(latents.shape, generator=generator, dtype=latents.dtype, device=latents.device)
    timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (latents.shape[0],), generator=generator,
                              device=latents.device).long()
    noisy = scheduler.add_noise(latents, noise, timesteps)
    if scheduler.config.prediction_type == "v_prediction":
        target = scheduler.get_velocity(latents, noise, timesteps)
    else:
        target = noise
    prediction = unet(noisy, timesteps, **unet_inputs, return_dict=False)[0]
    return F.mse_loss(prediction.float(), target.float(), reduction="mean")


@dataclass(frozen=True)
class _Crop:
    pixels: torch.Tensor  # in [-1, 1], channels first
    original_size: tuple[int, int]  # (height, width) before resizing
    top_left: tuple[int, int]  # (top, left) of the crop in the resized image


def _square_crop(path: Path, resolution: int) -> _Crop:
    """The image resized (shorter side) and centre-cropped to a square."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    original_size = (image.height, image.width)
    scale = resolution / min(image.size)
    image = image.resize((max(resolution, round(image.width * scale)), max(resolution, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    left, top = (image.width - resolution) // 2, (image.height - resolution) // 2
    image = image.crop((left, top, left + resolution, top + resolution))
    array = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).reshape(resolution, resolution, 3)
    return _Crop(array.permute(2, 0, 1).float() / 127.5 - 1.0, original_size, (top, left))


class _Trainer:
    def __init__(self, spec: TrainingSpec, device: Device):
        self.spec = spec
        self.device = device
        pipeline = load_pipeline(spec.base_model, device)
        self.pipeline = pipeline
        self.family = family_of_pipeline(pipeline)
        self.resolution = spec.resolution or native_side(pipeline)
        self.unet, self.vae = pipeline.unet, pipeline.vae
        for name in pipeline.components:
            if isinstance(getattr(pipeline, name), torch.nn.Module):
                getattr(pipeline, name).requires_grad_(False)
        self.base = BaseIdentity.of(self.family, self.unet, spec.base_model)
        self.lora_config = lora_config(spec.rank, spec.alpha)
        self.unet.add_adapter(self.lora_config)
        # The frozen base stays in the device's dtype (bf16 on a GPU); the LoRA weights the optimiser updates
        # are fp32, as in diffusers' reference scripts.
        cast_training_params(self.unet, dtype=torch.float32)
        self.trainable = [p for p in self.unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=spec.learning_rate)
        # An fp16 base needs loss scaling, or the gradients underflow (bf16 has fp32's range and needs none).
        self.scaler = torch.amp.GradScaler(device.name, enabled=device.dtype == torch.float16)
        self.noise_scheduler = training_scheduler(pipeline)
        self.examples = self._encode_examples()

    @torch.no_grad()
    def _encode_examples(self) -> list[tuple[torch.Tensor, dict[str, torch.Tensor]]]:
        """Latents and the UNet's conditioning never change while only the LoRA trains: compute them once."""
        encoded = []
        with self._vae_that_does_not_overflow() as vae:
            for example in self.spec.examples:
                crop = _square_crop(example.image, self.resolution)
                pixels = crop.pixels.unsqueeze(0).to(self.device.name, vae.dtype)
                latents = vae.encode(pixels).latent_dist.mean * vae.config.scaling_factor
                conditioning = self.family.prompt_conditioning(
                    self.pipeline, example.caption, original_size=crop.original_size, crop_top_left=crop.top_left,
                    target_size=(self.resolution, self.resolution))
                encoded.append((latents.to(self.device.dtype), conditioning))
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
        order = list(range(len(self.examples)))
        random.Random(self.spec.seed * 100_003 + epoch).shuffle(order)
        size = self.spec.batch_size
        return [order[i:i + size] for i in range(0, len(order), size)]

    def step(self, indices: list[int], generator: torch.Generator) -> float:
        latents = torch.cat([self.examples[i][0] for i in indices])
        conditioning = {key: torch.cat([self.examples[i][1][key] for i in indices]) for key in self.examples[0][1]}
        loss = noise_prediction_loss(self.unet, self.noise_scheduler, latents, self.family.unet_inputs(conditioning),
                                     generator)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.optimizer.zero_grad(set_to_none=True)
        return loss.item()

    def lora_state(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().contiguous() for k, v in get_peft_model_state_dict(self.unet).items()}

    def save_checkpoint(self, epoch: int, losses: list[float]) -> None:
        directory = self.spec.checkpoint_dir / f"{_CHECKPOINT_PREFIX}{epoch}"
        directory.mkdir(parents=True, exist_ok=True)
        save_file(self.lora_state(), directory / "lora.safetensors")
        # Written last: a checkpoint counts only once its state file exists.
        torch.save({"epoch": epoch, "losses": losses, "optimizer": self.optimizer.state_dict()}, directory / "state.pt")
        prune_checkpoints(self.spec.checkpoint_dir, self.spec.keep_checkpoints)

    def resume(self) -> tuple[int, list[float]]:
        found = checkpoints(self.spec.checkpoint_dir)
        if not found:
            return 0, []
        latest = found[-1]
        set_peft_model_state_dict(self.unet, load_file(latest / "lora.safetensors"))
        state = torch.load(latest / "state.pt", weights_only=True)
        self.optimizer.load_state_dict(state["optimizer"])
        return state["epoch"], list(state["losses"])

    @torch.no_grad()
    def samples(self, epoch: int) -> list[Path]:
        directory = self.spec.output_dir / "samples"
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for index, prompt in enumerate(self.spec.sample_prompts):
            image = self.pipeline(
                caption([prompt], self.spec.trigger_tag), num_inference_steps=self.spec.sample_steps,
                height=self.resolution, width=self.resolution,
                generator=torch.Generator().manual_seed(self.spec.seed + index),
            ).images[0]
            path = directory / f"epoch-{epoch:03d}-{index}.png"
            image.save(path)
            paths.append(path)
        return paths

    def save_adapter(self) -> Path:
        return write_adapter(self.spec.output_dir / ADAPTER_FILE, self.unet, self.lora_config, self.family, self.base)


def train_lora(
    spec: TrainingSpec,
    *,
    on_progress: Callable[[Progress], None] | None = None,
    on_epoch_end: Callable[[int, list[Path]], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    device: Device | None = None,
) -> Manifest:
    """Train the style's LoRA and write the adapter, samples and manifest to `spec.output_dir`.

    Resumes from the newest checkpoint in `spec.checkpoint_dir`. `on_progress` is called after every step,
    `on_epoch_end` with the epoch's sample images; `should_stop` is checked between steps.
    """
    if not spec.examples:
        raise ValueError("no training images")
    started = time.monotonic()
    spec.output_dir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(spec.seed)
    trainer = _Trainer(spec, device or Device.best())
    first_epoch, losses = trainer.resume()
    steps_per_epoch = len(trainer.batches(0))
    total_steps = steps_per_epoch * spec.epochs
    generator = torch.Generator(device=trainer.device.name).manual_seed(spec.seed + first_epoch)
    samples: list[Path] = []
    done_this_run = 0
    for epoch in range(first_epoch, spec.epochs):
        epoch_losses = []
        for indices in trainer.batches(epoch):
            if should_stop and should_stop():
                raise TrainingStopped(f"stopped in epoch {epoch + 1}")
            epoch_losses.append(trainer.step(indices, generator))
            done_this_run += 1
            if on_progress:
                on_progress(Progress(
                    epoch=epoch + 1, total_epochs=spec.epochs, step=epoch * steps_per_epoch + len(epoch_losses),
                    total_steps=total_steps, loss=epoch_losses[-1], elapsed_seconds=time.monotonic() - started,
                    steps_this_run=done_this_run,
                ))
        losses.append(sum(epoch_losses) / len(epoch_losses))
        trainer.save_checkpoint(epoch + 1, losses)
        samples = trainer.samples(epoch + 1)
        if on_epoch_end:
            on_epoch_end(epoch + 1, samples)
    if not samples:  # resumed after the last epoch's checkpoint: the samples still come from this adapter
        samples = trainer.samples(spec.epochs)
    adapter = trainer.save_adapter()
    data = adapter.read_bytes()
    manifest = Manifest(
        base_model=spec.base_model,
        family=trainer.family.name,
        base_architecture=trainer.base.architecture,
        trigger_tag=spec.trigger_tag,
        adapter_file=adapter.name,
        adapter_sha256=hashlib.sha256(data).hexdigest(),
        adapter_bytes=len(data),
        rank=spec.rank,
        alpha=spec.alpha,
        learning_rate=spec.learning_rate,
        epochs=spec.epochs,
        steps=total_steps,
        resolution=trainer.resolution,
        seed=spec.seed,
        images=len(spec.examples),
        loss_per_epoch=[round(loss, 6) for loss in losses],
        samples=[path.relative_to(spec.output_dir).as_posix() for path in samples],
        duration_seconds=round(time.monotonic() - started, 3),
        resumed_from_epoch=first_epoch,
        versions=_versions(),
    )
    (spec.output_dir / MANIFEST_FILE).write_text(manifest.to_json())
    return manifest


def _versions() -> dict[str, str]:
    import diffusers
    import peft

    return {"torch": torch.__version__, "diffusers": diffusers.__version__, "peft": peft.__version__}

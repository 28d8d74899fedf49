"""LoRA fine-tuning of a style: `train_lora(spec) -> manifest`, a plain function (no Ray, no HTTP, no argparse).

The recipe is diffusers' text-to-image LoRA reference: frozen base model, a PEFT LoRA adapter on the UNet's
attention projections, noise-prediction MSE on VAE latents with DDPM noise. Each epoch ends with a checkpoint
(LoRA weights + optimiser, so a retried job resumes) and sample images from fixed prompts and seeds. The adapter
ships in diffusers' format (safetensors, alpha kept in its metadata) so stock `load_lora_weights` loads it.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F
from diffusers import StableDiffusionPipeline
from diffusers.utils import convert_state_dict_to_diffusers
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict, set_peft_model_state_dict
from PIL import Image
from safetensors.torch import load_file, save_file

from core.diffusion import Device, load_pipeline, training_scheduler

ADAPTER_FILE = "pytorch_lora_weights.safetensors"
MANIFEST_FILE = "manifest.json"
LORA_TARGET_MODULES = ["to_k", "to_q", "to_v", "to_out.0"]
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
    resolution: int = 512
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


def noise_prediction_loss(unet, scheduler, latents: torch.Tensor, text_embeddings: torch.Tensor,
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
    prediction = unet(noisy, timesteps, text_embeddings, return_dict=False)[0]
    return F.mse_loss(prediction.float(), target.float(), reduction="mean")


def _pixels(path: Path, resolution: int) -> torch.Tensor:
    """The image resized (shorter side) and centre-cropped to a square, in [-1, 1], channels first."""
    with Image.open(path) as opened:
        image = opened.convert("RGB")
    scale = resolution / min(image.size)
    image = image.resize((max(resolution, round(image.width * scale)), max(resolution, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    left, top = (image.width - resolution) // 2, (image.height - resolution) // 2
    image = image.crop((left, top, left + resolution, top + resolution))
    array = torch.frombuffer(bytearray(image.tobytes()), dtype=torch.uint8).reshape(resolution, resolution, 3)
    return array.permute(2, 0, 1).float() / 127.5 - 1.0


class _Trainer:
    def __init__(self, spec: TrainingSpec, device: Device):
        self.spec = spec
        self.device = device
        pipeline = load_pipeline(spec.base_model, Device(device.name, torch.float32))
        self.pipeline = pipeline
        self.unet, self.vae, self.text_encoder, self.tokenizer = (
            pipeline.unet, pipeline.vae, pipeline.text_encoder, pipeline.tokenizer
        )
        for frozen in (self.unet, self.vae, self.text_encoder):
            frozen.requires_grad_(False)
        self.lora_config = LoraConfig(r=spec.rank, lora_alpha=spec.alpha, init_lora_weights="gaussian",
                                      target_modules=LORA_TARGET_MODULES)
        self.unet.add_adapter(self.lora_config)
        self.trainable = [p for p in self.unet.parameters() if p.requires_grad]
        self.optimizer = torch.optim.AdamW(self.trainable, lr=spec.learning_rate)
        self.noise_scheduler = training_scheduler(spec.base_model)
        self.examples = self._encode_examples()

    @torch.no_grad()
    def _encode_examples(self) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Latents and text embeddings never change while only the LoRA trains: compute them once."""
        encoded = []
        for example in self.spec.examples:
            pixels = _pixels(example.image, self.spec.resolution).unsqueeze(0).to(self.device.name)
            latents = self.vae.encode(pixels).latent_dist.mean * self.vae.config.scaling_factor
            ids = self.tokenizer(example.caption, padding="max_length", truncation=True,
                                 max_length=self.tokenizer.model_max_length, return_tensors="pt").input_ids
            embeddings = self.text_encoder(ids.to(self.device.name), return_dict=False)[0]
            encoded.append((latents, embeddings))
        return encoded

    def batches(self, epoch: int) -> list[list[int]]:
        order = list(range(len(self.examples)))
        random.Random(self.spec.seed * 100_003 + epoch).shuffle(order)
        size = self.spec.batch_size
        return [order[i:i + size] for i in range(0, len(order), size)]

    def step(self, indices: list[int], generator: torch.Generator) -> float:
        latents = torch.cat([self.examples[i][0] for i in indices])
        embeddings = torch.cat([self.examples[i][1] for i in indices])
        loss = noise_prediction_loss(self.unet, self.noise_scheduler, latents, embeddings, generator)
        loss.backward()
        self.optimizer.step()
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
                height=self.spec.resolution, width=self.spec.resolution,
                generator=torch.Generator().manual_seed(self.spec.seed + index),
            ).images[0]
            path = directory / f"epoch-{epoch:03d}-{index}.png"
            image.save(path)
            paths.append(path)
        return paths

    def save_adapter(self) -> Path:
        StableDiffusionPipeline.save_lora_weights(
            self.spec.output_dir,
            unet_lora_layers=convert_state_dict_to_diffusers(get_peft_model_state_dict(self.unet)),
            unet_lora_adapter_metadata=self.lora_config.to_dict(),
            weight_name=ADAPTER_FILE,
            safe_serialization=True,
        )
        return self.spec.output_dir / ADAPTER_FILE


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
        trigger_tag=spec.trigger_tag,
        adapter_file=adapter.name,
        adapter_sha256=hashlib.sha256(data).hexdigest(),
        adapter_bytes=len(data),
        rank=spec.rank,
        alpha=spec.alpha,
        learning_rate=spec.learning_rate,
        epochs=spec.epochs,
        steps=total_steps,
        resolution=spec.resolution,
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

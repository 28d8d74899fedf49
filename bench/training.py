"""Training steps per second: `train_lora` against diffusers' reference LoRA recipe on the same model, the same
images and the same hyperparameters, measured side by side in one run.

    .venv/bin/python -m bench.training [--images 10] [--resolution 128] [--steps 30]

The reference is the inner loop of diffusers' examples/text_to_image/train_text_to_image_lora.py written out
without accelerate: every step encodes its images with the VAE and its captions with the text encoder, then
runs the UNet with the LoRA and steps AdamW. `train_lora` encodes latents and captions once (they cannot change
while only the LoRA trains) and runs the same UNet step. Both run on the tiny SD-shaped model here; on a GPU
machine pass --base-model with an SD1.5-shaped folder (random weights have the real cost).
"""

from __future__ import annotations

import argparse
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image

from bench.report import publish
from core.diffusion import Device, build_tiny_model, load_pipeline, training_scheduler
from core.diffusion.lora import lora_config
from core.training_recipe import FamilyRecipe, TrainingRecipe
from training_jobs.images import bucket_crop, buckets
from training_jobs.train import Manifest, Progress, TrainingExample, TrainingSpec, train_lora

RECIPE = TrainingRecipe()


def gradient_images(directory: Path, count: int, size: int) -> list[Path]:
    """`count` distinct size² training images (rotated colour gradients), written to `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        gradient = Image.linear_gradient("L").resize((size, size)).rotate(index * 30)
        image = Image.merge("RGB", (gradient, gradient.rotate(90), gradient.rotate(180)))
        path = directory / f"image-{index}.png"
        image.save(path)
        paths.append(path)
    return paths


def reference_steps_per_second(model: str, images: list[Path], resolution: int, steps: int, device: Device) -> float:
    pipeline = load_pipeline(model, Device(device.name, torch.float32))
    unet, vae, text_encoder, tokenizer = pipeline.unet, pipeline.vae, pipeline.text_encoder, pipeline.tokenizer
    for frozen in (unet, vae, text_encoder):
        frozen.requires_grad_(False)
    unet.add_adapter(lora_config(16, 16))
    optimizer = torch.optim.AdamW([p for p in unet.parameters() if p.requires_grad], lr=1e-4)
    scheduler = training_scheduler(pipeline)
    pixels = [bucket_crop(path, buckets(resolution)).pixels.unsqueeze(0).to(device.name) for path in images]
    ids = tokenizer(["bench style, gradient"], padding="max_length", truncation=True,
                    max_length=tokenizer.model_max_length, return_tensors="pt").input_ids.to(device.name)

    def step(index: int) -> None:
        latents = vae.encode(pixels[index % len(pixels)]).latent_dist.sample() * vae.config.scaling_factor
        noise = torch.randn_like(latents)
        timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (1,), device=latents.device).long()
        noisy = scheduler.add_noise(latents, noise, timesteps)
        hidden = text_encoder(ids, return_dict=False)[0]
        prediction = unet(noisy, timesteps, hidden, return_dict=False)[0]
        loss = F.mse_loss(prediction.float(), noise.float(), reduction="mean")
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

    step(0)  # warm-up, as train_lora's first step is not timed either
    started = time.perf_counter()
    for index in range(steps):
        step(index)
    return steps / (time.perf_counter() - started)


def train_lora_steps_per_second(model: str, images: list[Path], *, resolution: int, steps: int,
                                family: FamilyRecipe, device: Device, output: Path,
                                synchronize: Callable[[], None] = lambda: None,
                                after_warm_up: Callable[[], None] = lambda: None) -> tuple[float, Manifest]:
    """Steps/s of train_lora over `steps` steps after one warm-up step, all inside one epoch (so no checkpoint,
    sample or held-out score falls in the timed window), and the run's manifest with its held-out score.
    `synchronize` waits for the device before each timestamp; `after_warm_up` runs once the first step is done."""
    stamps: list[float] = []

    def on_progress(progress: Progress) -> None:
        synchronize()
        stamps.append(time.perf_counter())
        if len(stamps) == 1:
            after_warm_up()

    trained = len(images) - TrainingRecipe.heldout_images(len(images))
    repeats = math.ceil((steps + 1) * family.batch_size / trained)
    recipe = TrainingRecipe(epochs=1, views_per_image=repeats, min_views=0, max_views=trained * repeats,
                            sd1=family, sdxl=family, resolution=resolution, sample_steps=1)
    spec = TrainingSpec(
        base_model=model, examples=[TrainingExample(path, "bench style, gradient") for path in images],
        output_dir=output, trigger_tag="bench style", recipe=recipe, sample_prompts=(),
    )
    manifest = train_lora(spec, on_progress=on_progress, device=device)
    timed = stamps[1:steps + 1]  # from the end of the warm-up step
    return (len(timed) - 1) / (timed[-1] - timed[0]), manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=10)
    parser.add_argument("--resolution", type=int, default=128)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--base-model", help="an SD 1.x folder (default: the tiny model, built here)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads on the CPU")
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    device = Device.best()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        model = arguments.base_model or str(build_tiny_model(scratch / "tiny-sd"))
        images = gradient_images(scratch / "images", arguments.images, arguments.resolution)
        ours, manifest = train_lora_steps_per_second(
            model, images, resolution=arguments.resolution, steps=arguments.steps,
            family=FamilyRecipe(batch_size=1), device=device, output=scratch / "output")
        reference = reference_steps_per_second(model, images, arguments.resolution, arguments.steps, device)
    publish(
        "Training",
        f".venv/bin/python -m bench.training --images {arguments.images} --resolution {arguments.resolution} "
        f"--steps {arguments.steps} --threads {arguments.threads}",
        [
            f"LoRA training steps per second on {'the tiny SD-shaped model' if not arguments.base_model else model}"
            f" ({device.name}, batch 1, {arguments.resolution}², rank 16), measured side by side in one run.",
            "Target: train_lora ÷ reference ≥ 1.0.",
            "",
            "| recipe | steps/s |",
            "|---|---:|",
            f"| train_lora (latents and captions encoded once) | {ours:.2f} |",
            f"| diffusers reference loop (VAE + text encoder every step) | {reference:.2f} |",
            f"| ratio | {ours / reference:.2f} |",
            "",
            f"Held-out score of that run ({manifest.heldout_images} image(s), lower is better): base model "
            f"{manifest.base_heldout_loss:.4f}, after its epoch {manifest.heldout_loss_per_epoch[-1]:.4f}."
            if manifest.heldout_images else "No image was held out (one image).",
            "",
            "The default recipe (core/training_recipe.py) at train_lora's speed here, counted in images per second "
            f"(the recipe's SD 1.x batch is {RECIPE.sd1.batch_size}):",
            "",
            "| images | steps | projected minutes |",
            "|---:|---:|---:|",
            *[f"| {count} | {RECIPE.total_steps(count, 'sd1')} | "
              f"{RECIPE.total_steps(count, 'sd1') * RECIPE.sd1.batch_size / ours / 60:.1f} |" for count in (10, 30, 100)],
        ],
    )


if __name__ == "__main__":
    main()

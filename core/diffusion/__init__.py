"""The Stable Diffusion base model shared by training jobs and generation replicas: the only module of `core`
that imports torch and diffusers (the API never imports it).

`SL_BASE_MODEL` names a local folder or a hub id of an SD 1.x pipeline, or `tiny`: a Stable-Diffusion-shaped
model built from config with random weights, for development and tests where no weights can be downloaded.
It exercises every real code path (text encoder, UNet with cross-attention, 8x VAE, LoRA) but draws noise.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

from core.settings import DEVELOPMENT_MODEL

TINY = DEVELOPMENT_MODEL
TINY_NOTICE = (
    "Using the tiny development model (random weights): it runs every step of the real pipeline but its "
    "images look like noise. Set SL_BASE_MODEL to a Stable Diffusion 1.x folder or hub id for real images."
)
_TINY_MARKER = "style-license-tiny.json"


@dataclass(frozen=True)
class Device:
    name: str
    dtype: torch.dtype

    @classmethod
    def best(cls) -> Device:
        if torch.cuda.is_available():
            dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
            return cls("cuda", dtype)
        return cls("cpu", torch.float32)


def _byte_level_tokenizer() -> CLIPTokenizer:
    """CLIP's byte-level BPE with no merges: every byte is a token (transformers 5 ignores vocab files here,
    so the vocabulary is passed in)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols + [f"{s}</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77, pad_token="<|endoftext|>")


def build_tiny_model(directory: Path, *, seed: int = 0) -> Path:
    """Write a tiny SD-shaped pipeline (random weights) to `directory`, loadable offline like a real one."""
    torch.manual_seed(seed)
    tokenizer = _byte_level_tokenizer()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=32, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        projection_dim=32,
    ))
    unet = UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=64, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, attention_head_dim=8, norm_num_groups=32,
    )
    vae = AutoencoderKL(
        block_out_channels=(32, 32, 64, 64), in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1,
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4, norm_num_groups=32,
        sample_size=512,
    )
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    pipeline = StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipeline.save_pretrained(directory)
    (directory / _TINY_MARKER).write_text(json.dumps({"seed": seed, "notice": TINY_NOTICE}))
    return directory


def resolve_base_model(base_model: str, models_dir: Path) -> str:
    """A loadable path or hub id; `tiny` is built once under `models_dir` and reused."""
    if base_model != TINY:
        return base_model
    directory = models_dir / "tiny-sd"
    if not (directory / _TINY_MARKER).exists():
        build_tiny_model(directory)
    return str(directory)


def is_tiny(model_path: str) -> bool:
    return (Path(model_path) / _TINY_MARKER).exists()


def load_pipeline(model_path: str, device: Device | None = None) -> StableDiffusionPipeline:
    device = device or Device.best()
    pipeline = StableDiffusionPipeline.from_pretrained(
        model_path, dtype=device.dtype, safety_checker=None, requires_safety_checker=False,
        local_files_only=Path(model_path).exists(),
    )
    pipeline.set_progress_bar_config(disable=True)
    pipeline = pipeline.to(device.name)
    if device.name == "cuda":
        tune_for_gpu(pipeline)
    return pipeline


def tune_for_gpu(pipeline: StableDiffusionPipeline) -> None:
    """The UNet's convolutions in channels-last layout (the tensor cores' own), and the VAE decoding large
    images in tiles, so a 1024² decode does not hold the whole image's activations at once. Attention already
    runs on torch's scaled_dot_product_attention, diffusers' default on torch 2."""
    pipeline.unet.to(memory_format=torch.channels_last)
    pipeline.vae.enable_tiling()


def training_scheduler(model_path: str) -> DDPMScheduler:
    """The noise schedule training adds noise with (the base model's own betas)."""
    return DDPMScheduler.from_pretrained(model_path, subfolder="scheduler", local_files_only=Path(model_path).exists())

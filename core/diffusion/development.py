"""The models of development, by `SL_BASE_MODEL` name (core.settings.DEVELOPMENT_MODELS; production refuses them
all: they draw colour fields at best):

- `tiny` and `tiny-xl`: an SD 1.x- and an SDXL-shaped pipeline small enough for a CPU, built from config,
  given a minute of base training (core.diffusion.tiny_base_training) and saved as a diffusers folder (loaded
  offline like a real one). They run every real code path of their family:
  text encoder(s), UNet with cross-attention (and SDXL's added text/time conditioning), 8x VAE, LoRA. Their VAE
  keeps colours (core.diffusion.palette_vae), so what a tiny model learnt shows in its images.
- `sd15-shape` and `sdxl-shape`: the real full-size architectures with random weights, built in memory from
  the in-repo configs, for benchmarks (speed does not depend on the weights' values).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from diffusers import (
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from core.diffusion.palette_vae import SAMPLE_SIZE, palette_vae
from core.diffusion.tiny_base_training import train_tiny_base
from core.settings import DEVELOPMENT_MODELS

TINY_MODELS = {"tiny": "sd1", "tiny-xl": "sdxl"}  # name -> family
SHAPES = {"sd15-shape": "sd1", "sdxl-shape": "sdxl"}
# Settings (which cannot import torch) name the same models, to refuse them in production.
assert {*TINY_MODELS, *SHAPES} == set(DEVELOPMENT_MODELS), "core.settings.DEVELOPMENT_MODELS is out of date"
_MARKER = "style-license-development.json"
# Tiny models draw at 256² natively (UNet sample size 32 × the VAE's 8): small enough for CPU tests, large
# enough for the watermark's 256 px short side.
_TINY_SAMPLE_SIZE = SAMPLE_SIZE // 8


def _byte_level_tokenizer() -> CLIPTokenizer:
    """CLIP's byte-level BPE with no merges: every byte is a token (transformers 5 ignores vocab files here,
    so the vocabulary is passed in)."""
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    symbols = list(bytes_to_unicode().values())
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1}
    for symbol in symbols + [f"{s}</w>" for s in symbols]:
        vocab.setdefault(symbol, len(vocab))
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77, pad_token="<|endoftext|>")


def _text_config(tokenizer: CLIPTokenizer, *, hidden_size: int = 32, projection_dim: int = 32) -> CLIPTextConfig:
    return CLIPTextConfig(
        vocab_size=len(tokenizer), hidden_size=hidden_size, intermediate_size=37, num_attention_heads=4,
        num_hidden_layers=2, max_position_embeddings=77, bos_token_id=0, eos_token_id=1, pad_token_id=1,
        projection_dim=projection_dim,
    )


def _tiny_unet(**family_specific) -> UNet2DConditionModel:
    return UNet2DConditionModel(
        block_out_channels=(32, 64), layers_per_block=1, sample_size=_TINY_SAMPLE_SIZE, in_channels=4,
        out_channels=4, down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"), norm_num_groups=32, **family_specific,
    )


def _tiny_sd1() -> StableDiffusionPipeline:
    tokenizer = _byte_level_tokenizer()
    scheduler = DDIMScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                              clip_sample=False, set_alpha_to_one=False, steps_offset=1)
    return StableDiffusionPipeline(
        vae=palette_vae(), text_encoder=CLIPTextModel(_text_config(tokenizer)), tokenizer=tokenizer,
        unet=_tiny_unet(cross_attention_dim=32, attention_head_dim=8), scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def _tiny_sdxl() -> StableDiffusionXLPipeline:
    tokenizer = _byte_level_tokenizer()
    # Two encoders of different widths, as in SDXL (768 and 1280): single-file loading tells them apart by it.
    config, config_2 = _text_config(tokenizer), _text_config(tokenizer, hidden_size=48, projection_dim=24)
    time_embedding = 8
    unet = _tiny_unet(
        # SDXL's UNet: cross-attention on both encoders' hidden states side by side, and an added embedding
        # of the pooled text (the second encoder's projection) and the six size/crop time ids.
        cross_attention_dim=config.hidden_size + config_2.hidden_size, attention_head_dim=(2, 4),
        use_linear_projection=True, transformer_layers_per_block=(1, 2), addition_embed_type="text_time",
        addition_time_embed_dim=time_embedding,
        projection_class_embeddings_input_dim=6 * time_embedding + config_2.projection_dim,
    )
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="leading", steps_offset=1)
    return StableDiffusionXLPipeline(
        vae=palette_vae(), text_encoder=CLIPTextModel(config), text_encoder_2=CLIPTextModelWithProjection(config_2),
        tokenizer=tokenizer, tokenizer_2=_byte_level_tokenizer(), unet=unet, scheduler=scheduler,
    )


_TINY_BUILDERS = {"sd1": _tiny_sd1, "sdxl": _tiny_sdxl}


# Part of the cache key: raise it when what a build makes changes.
_BUILD_VERSION = 3


def build_tiny_model(directory: Path, *, family: str = "sd1", seed: int = 0) -> Path:
    """Write a tiny pipeline of `family` to `directory`, loadable offline like a real one. The build (a minute,
    mostly its base training) is done once per machine and copied from the cache after."""
    cached = _cache_dir() / f"tiny-{family}-{seed}-v{_BUILD_VERSION}-torch{torch.__version__}"
    if not _current(cached):
        shutil.rmtree(cached, ignore_errors=True)  # left by an older build
        cached.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cached.parent) as scratch:
            built = _build(Path(scratch) / "model", family, seed)
            with contextlib.suppress(OSError):  # another process built it meanwhile: theirs is the same
                built.rename(cached)
    shutil.copytree(cached, directory, dirs_exist_ok=True)
    return directory


def _build(directory: Path, family: str, seed: int) -> Path:
    torch.manual_seed(seed)
    pipeline = _TINY_BUILDERS[family]()
    train_tiny_base(pipeline, seed)
    pipeline.save_pretrained(directory)
    (directory / _MARKER).write_text(json.dumps({"family": family, "seed": seed, "build": _BUILD_VERSION}))
    return directory


def _cache_dir() -> Path:
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "style-license" / "development-models"


def tiny_model_folder(name: str, models_dir: Path) -> Path:
    """The folder of the tiny model `name`, built under `models_dir` the first time and again when the build
    has changed since."""
    directory = models_dir / name
    if not _current(directory):
        shutil.rmtree(directory, ignore_errors=True)
        build_tiny_model(directory, family=TINY_MODELS[name])
    return directory


def _current(directory: Path) -> bool:
    marker = directory / _MARKER
    return marker.exists() and json.loads(marker.read_text()).get("build") == _BUILD_VERSION


def is_development_model(model: str) -> bool:
    """A development model's name, or the folder a tiny model was built in."""
    return model in DEVELOPMENT_MODELS or (Path(model) / _MARKER).exists()

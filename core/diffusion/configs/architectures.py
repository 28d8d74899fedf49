"""The real base models' architectures as diffusers/transformers constructor arguments: Stable Diffusion 1.5
and SDXL base 1.0. Built on the `meta` device (shapes without memory), only to have the classes write their
configs."""

from __future__ import annotations

from accelerate import init_empty_weights
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    PNDMScheduler,
    StableDiffusionPipeline,
    StableDiffusionXLPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

from core.diffusion.clip_vocab import SPECIAL_TOKENS, VOCAB_SIZE

_START, _END = SPECIAL_TOKENS
# CLIP's vocabulary ends with its two special tokens; the end of text and "!" (the first byte symbol, id 0) are
# the tokenizers' pads.
_VOCAB_SIZE, _START_ID, _END_ID, _EXCLAMATION_ID = VOCAB_SIZE, VOCAB_SIZE - 2, VOCAB_SIZE - 1, 0


def _clip_vit_l(pad_token_id: int) -> CLIPTextConfig:
    """OpenAI's CLIP ViT-L/14 text encoder: SD 1.x's only one, SDXL's first."""
    return CLIPTextConfig(
        vocab_size=_VOCAB_SIZE, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
        num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu", projection_dim=768,
        bos_token_id=_START_ID, eos_token_id=_END_ID, pad_token_id=pad_token_id,
    )


def _open_clip_vit_big_g() -> CLIPTextConfig:
    """OpenCLIP ViT-bigG/14's text encoder with its projection: SDXL's second, whose pooled output conditions
    the UNet."""
    return CLIPTextConfig(
        vocab_size=_VOCAB_SIZE, hidden_size=1280, intermediate_size=5120, num_hidden_layers=32,
        num_attention_heads=20, max_position_embeddings=77, hidden_act="gelu", projection_dim=1280,
        bos_token_id=_START_ID, eos_token_id=_END_ID, pad_token_id=_EXCLAMATION_ID,
    )


def _vae(*, sample_size: int, scaling_factor: float, force_upcast: bool) -> AutoencoderKL:
    return AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(128, 256, 512, 512),
        down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
        layers_per_block=2, norm_num_groups=32, act_fn="silu", sample_size=sample_size,
        scaling_factor=scaling_factor, force_upcast=force_upcast,
    )


def _tokenizer(pad_token: str) -> CLIPTokenizer:
    """Only its configuration is written: the vocabulary comes at run time (`core.diffusion.clip_vocab`)."""
    vocab = {_START: 0, _END: 1, "!": 2}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77, bos_token=_START, eos_token=_END,
                         unk_token=_END, pad_token=pad_token)


def sd15() -> StableDiffusionPipeline:
    with init_empty_weights():
        unet = UNet2DConditionModel(
            sample_size=64, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280, 1280),
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            layers_per_block=2, cross_attention_dim=768, attention_head_dim=8, norm_num_groups=32,
        )
        vae = _vae(sample_size=512, scaling_factor=0.18215, force_upcast=True)
        text_encoder = CLIPTextModel(_clip_vit_l(pad_token_id=_END_ID))
    scheduler = PNDMScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        skip_prk_steps=True, set_alpha_to_one=False, steps_offset=1,
    )
    return StableDiffusionPipeline(
        vae=vae, text_encoder=text_encoder, tokenizer=_tokenizer(pad_token=_END), unet=unet,
        scheduler=scheduler, safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )


def sdxl() -> StableDiffusionXLPipeline:
    with init_empty_weights():
        unet = UNet2DConditionModel(
            sample_size=128, in_channels=4, out_channels=4, block_out_channels=(320, 640, 1280),
            down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
            up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
            layers_per_block=2, transformer_layers_per_block=(1, 2, 10), attention_head_dim=(5, 10, 20),
            # Cross-attention on both encoders' hidden states side by side (768 + 1280).
            cross_attention_dim=2048, use_linear_projection=True, norm_num_groups=32,
            # The added embedding: the pooled text (1280) and six size/crop time ids of 256 each, 2816 in all.
            addition_embed_type="text_time", addition_time_embed_dim=256,
            projection_class_embeddings_input_dim=2816,
        )
        vae = _vae(sample_size=1024, scaling_factor=0.13025, force_upcast=True)
        text_encoder = CLIPTextModel(_clip_vit_l(pad_token_id=_END_ID))
        text_encoder_2 = CLIPTextModelWithProjection(_open_clip_vit_big_g())
    scheduler = EulerDiscreteScheduler(
        num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
        prediction_type="epsilon", interpolation_type="linear", use_karras_sigmas=False,
        timestep_spacing="leading", steps_offset=1,
    )
    return StableDiffusionXLPipeline(
        vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, unet=unet, scheduler=scheduler,
        tokenizer=_tokenizer(pad_token=_END), tokenizer_2=_tokenizer(pad_token="!"),
        force_zeros_for_empty_prompt=True, add_watermarker=False,
    )


ARCHITECTURES = {"sd15": sd15, "sdxl": sdxl}

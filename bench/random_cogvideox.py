"""A CogVideoX model's full-size pipeline (T5-XXL, transformer, VAE, scheduler) with random weights, built on the GPU.

Usage: python bench/random_cogvideox.py [--model NAME] [--save DIR --device cuda] (names: config/models.ts)
  without --save: builds on the meta device (no memory) and prints each component's parameter count as JSON.

No download: the configs below are the models' own (THUDM/CogVideoX-2b, -5b, -5b-I2V, 1.5-5B, 1.5-5B-I2V,
diffusers layout), written out by hand. Random weights run the same kernels on the same shapes as the real ones, so
every timing holds; what they cannot show is output quality (fidelity numbers here compare two paths on the same
random model).
"""

import argparse
import json
import sys
from dataclasses import dataclass

import torch
from diffusers import (
    AutoencoderKLCogVideoX,
    CogVideoXDDIMScheduler,
    CogVideoXImageToVideoPipeline,
    CogVideoXPipeline,
    CogVideoXTransformer3DModel,
)
from transformers import T5Config, T5EncoderModel, T5Tokenizer

# THUDM/CogVideoX-2b transformer/config.json (sincos positions: the 2b model has no rotary embeddings)
TRANSFORMER_2B = dict(
    num_attention_heads=30,
    attention_head_dim=64,
    in_channels=16,
    out_channels=16,
    flip_sin_to_cos=True,
    freq_shift=0,
    time_embed_dim=512,
    text_embed_dim=4096,
    num_layers=30,
    dropout=0.0,
    attention_bias=True,
    sample_width=90,
    sample_height=60,
    sample_frames=49,
    patch_size=2,
    temporal_compression_ratio=4,
    max_text_seq_length=226,
    activation_fn="gelu-approximate",
    timestep_activation_fn="silu",
    norm_elementwise_affine=True,
    norm_eps=1e-5,
    spatial_interpolation_scale=1.875,
    temporal_interpolation_scale=1.0,
    use_rotary_positional_embeddings=False,
    use_learned_positional_embeddings=False,
)

# THUDM/CogVideoX-5b transformer/config.json: 42 blocks of 48 heads x 64 (3072 wide), rotary positions
TRANSFORMER_5B = dict(
    TRANSFORMER_2B,
    num_attention_heads=48,
    num_layers=42,
    use_rotary_positional_embeddings=True,
)

# THUDM/CogVideoX-5b-I2V: the photo's latents beside the noise (twice the input channels), learned positions (so
# its one resolution, 720x480)
TRANSFORMER_5B_I2V = dict(TRANSFORMER_5B, in_channels=32, use_learned_positional_embeddings=True)

# THUDM/CogVideoX1.5-5B: temporal patches of 2 latent frames, no patch-embedding bias; its sample size is 300x300
# latents since the repository's "use original sample_height and sample_width" (diffusers' conversion script, 1.5)
TRANSFORMER_15_5B = dict(
    TRANSFORMER_5B,
    patch_size_t=2,
    patch_bias=False,
    sample_height=300,
    sample_width=300,
    sample_frames=81,
)

# THUDM/CogVideoX1.5-5B-I2V: also the "ofs" embedding, added to the time embedding
TRANSFORMER_15_5B_I2V = dict(TRANSFORMER_15_5B, in_channels=32, ofs_embed_dim=512)

# THUDM/CogVideoX-2b vae/config.json
VAE_2B = dict(
    in_channels=3,
    out_channels=3,
    down_block_types=("CogVideoXDownBlock3D",) * 4,
    up_block_types=("CogVideoXUpBlock3D",) * 4,
    block_out_channels=(128, 256, 256, 512),
    latent_channels=16,
    layers_per_block=3,
    act_fn="silu",
    norm_eps=1e-6,
    norm_num_groups=32,
    temporal_compression_ratio=4,
    sample_height=480,
    sample_width=720,
    scaling_factor=1.15258426,
)

# THUDM/CogVideoX-5b(-I2V) vae/config.json: the same VAE, another latent scale
VAE_5B = dict(VAE_2B, scaling_factor=0.7)

# THUDM/CogVideoX1.5-5B(-I2V) vae/config.json: latents divided by the scale where 1.0 multiplies
VAE_15 = dict(VAE_5B, invert_scale_latents=True)

# google/t5-v1_1-xxl, the encoder CogVideoX-2b ships (text_encoder/config.json)
T5_XXL = dict(
    vocab_size=32128,
    d_model=4096,
    d_kv=64,
    d_ff=10240,
    num_layers=24,
    num_heads=64,
    relative_attention_num_buckets=32,
    relative_attention_max_distance=128,
    dropout_rate=0.1,
    layer_norm_epsilon=1e-6,
    feed_forward_proj="gated-gelu",
    tie_word_embeddings=False,
    pad_token_id=0,
    eos_token_id=1,
)

# THUDM/CogVideoX-2b scheduler/scheduler_config.json
SCHEDULER_2B = dict(
    beta_end=0.012,
    beta_schedule="scaled_linear",
    beta_start=0.00085,
    clip_sample=False,
    num_train_timesteps=1000,
    prediction_type="v_prediction",
    rescale_betas_zero_snr=True,
    set_alpha_to_one=True,
    snr_shift_scale=3.0,
    steps_offset=0,
    timestep_spacing="trailing",
)

@dataclass(frozen=True)
class RandomModel:
    """One catalogue model (config/models.ts) as this file builds it."""

    pipeline: type
    transformer: dict
    vae: dict
    dtype: torch.dtype  # the precision it was trained in (its model card)


# Every model's scheduler is CogVideoX-2b's (the 5b family's scheduler_config.json differs in nothing the DDIM
# scheduler reads for timing), and its text encoder T5-XXL.
MODELS: dict[str, RandomModel] = {
    "cogvideox-2b": RandomModel(CogVideoXPipeline, TRANSFORMER_2B, VAE_2B, torch.float16),
    "cogvideox-5b": RandomModel(CogVideoXPipeline, TRANSFORMER_5B, VAE_5B, torch.bfloat16),
    "cogvideox-5b-i2v": RandomModel(CogVideoXImageToVideoPipeline, TRANSFORMER_5B_I2V, VAE_5B, torch.bfloat16),
    "cogvideox1.5-5b": RandomModel(CogVideoXPipeline, TRANSFORMER_15_5B, VAE_15, torch.bfloat16),
    "cogvideox1.5-5b-i2v": RandomModel(CogVideoXImageToVideoPipeline, TRANSFORMER_15_5B_I2V, VAE_15, torch.bfloat16),
}

WORDS = (
    "a an the of in on with and at is red blue green fox cat dog bird fish tree river city sky sea snow runs flies "
    "swims walks slowly night day sunset forest mountain street video cinematic light rain over through fresh"
).split()


def make_tokenizer() -> T5Tokenizer:
    """A T5 (Unigram) tokenizer over a few words and single characters: prompts pad to 226 tokens like the real one."""
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(f"▁{word}", -1.0) for word in WORDS]
    vocab += [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=TRANSFORMER_2B["max_text_seq_length"])


@torch.no_grad()
def build_pipeline(
    device: torch.device, dtype: torch.dtype | None = None, seed: int = 0, model: str = "cogvideox-2b"
) -> CogVideoXPipeline | CogVideoXImageToVideoPipeline:
    """Every component initialised directly on `device` (seconds, where the CPU would take minutes), then cast to
    `dtype` (default: the model's own, fp16 for CogVideoX-2b). On the meta device nothing is allocated."""
    if model not in MODELS:
        raise ValueError(f"model: must be one of {', '.join(MODELS)}, got {model!r}")
    spec = MODELS[model]
    dtype = dtype or spec.dtype
    torch.manual_seed(seed)
    with torch.device(device):
        text_encoder = T5EncoderModel._from_config(T5Config(**T5_XXL), dtype=dtype).eval()
        transformer = CogVideoXTransformer3DModel(**spec.transformer).to(dtype).eval()
        vae = AutoencoderKLCogVideoX(**spec.vae).to(dtype).eval()
    return spec.pipeline(
        tokenizer=make_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=CogVideoXDDIMScheduler(**SCHEDULER_2B),
    )


def parameter_counts(model: str) -> dict[str, int]:
    """Each component's parameters, counted on the meta device (no memory taken)."""
    pipe = build_pipeline(torch.device("meta"), model=model)
    components = ("text_encoder", "transformer", "vae")
    return {name: sum(p.numel() for p in getattr(pipe, name).parameters()) for name in components}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=list(MODELS), default="cogvideox-2b", help="a name of config/models.ts")
    parser.add_argument("--save", default="", help="build on --device and save the pipeline here (diffusers layout)")
    parser.add_argument("--device", default="cuda", help="where --save builds it (the CPU takes minutes)")
    args = parser.parse_args(argv)
    if not args.save:
        counts = parameter_counts(args.model)
        spec = MODELS[args.model]
        print(json.dumps({"model": args.model, "pipeline": spec.pipeline.__name__, "dtype": str(spec.dtype),
                          "parameters": counts, "total": sum(counts.values())}))
        return 0
    build_pipeline(torch.device(args.device), model=args.model).save_pretrained(args.save)
    print(f"saved {args.model} (random weights) to {args.save}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

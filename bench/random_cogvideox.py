"""CogVideoX-2b's full-size pipeline (T5-XXL, transformer, VAE, scheduler) with random weights, built on the GPU.

No download: the configs below are CogVideoX-2b's own (THUDM/CogVideoX-2b, diffusers layout), written out by
hand. Random weights run the same kernels on the same shapes as the real ones, so every timing holds; what they
cannot show is output quality (fidelity numbers here compare two paths on the same random model).
"""

import torch
from diffusers import AutoencoderKLCogVideoX, CogVideoXDDIMScheduler, CogVideoXPipeline, CogVideoXTransformer3DModel
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
def build_pipeline(device: torch.device, dtype: torch.dtype = torch.float16, seed: int = 0) -> CogVideoXPipeline:
    """Every component initialised directly on `device` (seconds, where the CPU would take minutes), then cast."""
    torch.manual_seed(seed)
    with torch.device(device):
        text_encoder = T5EncoderModel._from_config(T5Config(**T5_XXL), dtype=dtype).eval()
        transformer = CogVideoXTransformer3DModel(**TRANSFORMER_2B).to(dtype).eval()
        vae = AutoencoderKLCogVideoX(**VAE_2B).to(dtype).eval()
    return CogVideoXPipeline(
        tokenizer=make_tokenizer(),
        text_encoder=text_encoder,
        vae=vae,
        transformer=transformer,
        scheduler=CogVideoXDDIMScheduler(**SCHEDULER_2B),
    )

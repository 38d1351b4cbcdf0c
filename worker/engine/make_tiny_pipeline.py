"""Build a tiny random CogVideoX pipeline on disk, so the engine can be tested on CPU with no download.

Usage: python make_tiny_pipeline.py OUT_DIR [--kind t2v|i2v|t2v-1.5|i2v-1.5] [--force]

The shapes follow diffusers' own tests (tests/pipelines/cogvideo/test_cogvideox.py and
test_cogvideox_image2video.py), sized for the tiny presets (test/fixtures/presets.tiny.json: 64x32, 9 frames). The
tokenizer is made here from a hand-written vocabulary. Each kind has the layout of one catalogue model
(config/models.ts), and reads as it there (by model_index.json's class and the transformer's patch_size_t):
  t2v      CogVideoXPipeline, CogVideoX-2b's layout (sincos positions)               -> cogvideox-2b
  i2v      CogVideoXImageToVideoPipeline, CogVideoX-5b-I2V's (learned positions, RoPE) -> cogvideox-5b-i2v
  t2v-1.5  CogVideoXPipeline, CogVideoX1.5-5B's (temporal patches of 2, RoPE)          -> cogvideox1.5-5b
  i2v-1.5  CogVideoXImageToVideoPipeline, CogVideoX1.5-5B-I2V's (and the ofs embedding) -> cogvideox1.5-5b-i2v
"""

import argparse
import json
import sys
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLCogVideoX,
    CogVideoXDDIMScheduler,
    CogVideoXImageToVideoPipeline,
    CogVideoXPipeline,
    CogVideoXTransformer3DModel,
)
from transformers import T5Config, T5EncoderModel, T5Tokenizer

# The tiny presets' shape: the transformer's sample size is its latent grid, so positional embeddings are
# precomputed for exactly this shape (other shapes still work: CogVideoX-2b's sincos embeddings are recomputed).
WIDTH, HEIGHT, FRAMES = 64, 32, 9
VAE_SPATIAL_SCALE = 8  # 2 ** (len(block_out_channels) - 1)
TEXT_EMBED_DIM = 32
MAX_TEXT_SEQ_LENGTH = 16
LATENT_CHANNELS = 4
TIME_EMBED_DIM = 2

# The 5b models' rotary positions split head_dim 1:3:3 over time, height and width, each part even: 16 is the least
# (2 heads x 16 keep the tiny width of 32).
ROTARY = dict(use_rotary_positional_embeddings=True, num_attention_heads=2, attention_head_dim=16)
# What each kind changes from the t2v transformer (CogVideoX-2b's layout), as the real models' configs do.
# Image-to-video: the photo's latents are concatenated to the noise on the channels, so twice the input channels.
KINDS: dict[str, dict] = {
    "t2v": {},
    "i2v": dict(**ROTARY, in_channels=2 * LATENT_CHANNELS, use_learned_positional_embeddings=True),
    "t2v-1.5": dict(**ROTARY, patch_size_t=2, patch_bias=False),
    "i2v-1.5": dict(
        **ROTARY, in_channels=2 * LATENT_CHANNELS, patch_size_t=2, patch_bias=False,
        ofs_embed_dim=TIME_EMBED_DIM,  # added to the time embedding, so as wide
    ),
}

WORDS = (
    "a an the of in on with and at is red blue green fox cat dog bird fish tree river city sky sea snow "
    "runs flies swims walks slowly night day sunset forest mountain street video cinematic"
).split()


def make_tokenizer() -> T5Tokenizer:
    """A T5 (Unigram) tokenizer over a few words plus single characters, so any prompt tokenizes."""
    # T5's layout: <pad>=0, </s>=1, <unk>=2, then the pieces; whole words score higher than characters.
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    vocab += [(f"▁{word}", -1.0) for word in WORDS]
    vocab += [(char, -5.0) for char in "abcdefghijklmnopqrstuvwxyz0123456789.,!?'-"]
    return T5Tokenizer(vocab=vocab, extra_ids=0, model_max_length=MAX_TEXT_SEQ_LENGTH)


def pipeline_class(kind: str) -> type:
    return CogVideoXImageToVideoPipeline if kind.startswith("i2v") else CogVideoXPipeline


def make_pipeline(kind: str = "t2v") -> CogVideoXPipeline | CogVideoXImageToVideoPipeline:
    """Random tiny components with the same classes (and so the same code paths) as the model `kind` stands for."""
    if kind not in KINDS:
        raise ValueError(f"kind: must be one of {', '.join(KINDS)}, got {kind!r}")
    # 1. Seed, so that two builds give the same weights
    torch.manual_seed(0)

    # 2. Text side: tokenizer + a one-layer T5 encoder whose width is the transformer's text_embed_dim
    tokenizer = make_tokenizer()
    text_encoder = T5EncoderModel(
        T5Config(
            vocab_size=len(tokenizer),
            d_model=TEXT_EMBED_DIM,
            d_kv=8,
            d_ff=37,
            num_layers=1,
            num_heads=4,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
        )
    )

    # 3. Transformer: CogVideoX-2b's layout (sincos positions, no rotary), 4 heads x 8 dims, one layer; the other
    #    kinds change what the real models change
    t2v = dict(
        num_attention_heads=4,
        attention_head_dim=8,
        in_channels=LATENT_CHANNELS,
        out_channels=LATENT_CHANNELS,
        time_embed_dim=TIME_EMBED_DIM,
        text_embed_dim=TEXT_EMBED_DIM,
        num_layers=1,
        sample_width=WIDTH // VAE_SPATIAL_SCALE,
        sample_height=HEIGHT // VAE_SPATIAL_SCALE,
        sample_frames=FRAMES,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=MAX_TEXT_SEQ_LENGTH,
    )
    transformer = CogVideoXTransformer3DModel(**{**t2v, **KINDS[kind]})

    # 4. VAE: four blocks (8x spatial), 4x temporal compression, like the real one
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=LATENT_CHANNELS,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
        **({"invert_scale_latents": True} if kind.endswith("1.5") else {}),  # as CogVideoX1.5's VAE
    )

    scheduler = CogVideoXDDIMScheduler()
    return pipeline_class(kind)(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )


def built_kind(out_dir: Path) -> str | None:
    """The kind of the tiny pipeline already in out_dir (by the files the worker reads too), or None."""
    try:
        index = json.loads((out_dir / "model_index.json").read_text())
        transformer = json.loads((out_dir / "transformer" / "config.json").read_text())
    except (OSError, ValueError):
        return None
    image = index.get("_class_name") == "CogVideoXImageToVideoPipeline"
    return ("i2v" if image else "t2v") + ("-1.5" if transformer.get("patch_size_t") else "")


def build(out_dir: Path, force: bool = False, kind: str = "t2v") -> bool:
    """Write the pipeline to out_dir; returns False when one of this kind is already there (and force is off)."""
    if not force and built_kind(out_dir) == kind:
        return False
    out_dir.mkdir(parents=True, exist_ok=True)
    make_pipeline(kind).save_pretrained(out_dir)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to save the pipeline (diffusers layout)")
    parser.add_argument("--kind", choices=list(KINDS), default="t2v",
                        help="which model's layout (default t2v: CogVideoX-2b's); another kind replaces what is there")
    parser.add_argument("--force", action="store_true", help="rebuild even if OUT_DIR holds this kind already")
    args = parser.parse_args(argv)
    built = build(args.out_dir, force=args.force, kind=args.kind)
    print(f"{'built' if built else 'already there'}: {args.out_dir} ({args.kind})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

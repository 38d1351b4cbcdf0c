"""Build a tiny random CogVideoX pipeline on disk, so the engine can be tested on CPU with no download.

Usage: python make_tiny_pipeline.py OUT_DIR [--force]

The shapes follow diffusers' own tests (tests/pipelines/cogvideo/test_cogvideox.py), sized for the tiny presets
(test/fixtures/presets.tiny.json: 64x32, 9 frames). The tokenizer is made here from a hand-written vocabulary.
"""

import argparse
import sys
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKLCogVideoX,
    CogVideoXDDIMScheduler,
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


def make_pipeline() -> CogVideoXPipeline:
    """Random tiny components with the same classes (and so the same code paths) as CogVideoX-2b."""
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

    # 3. Transformer: CogVideoX-2b's layout (sincos positions, no rotary), 4 heads x 8 dims, one layer
    transformer = CogVideoXTransformer3DModel(
        num_attention_heads=4,
        attention_head_dim=8,
        in_channels=4,
        out_channels=4,
        time_embed_dim=2,
        text_embed_dim=TEXT_EMBED_DIM,
        num_layers=1,
        sample_width=WIDTH // VAE_SPATIAL_SCALE,
        sample_height=HEIGHT // VAE_SPATIAL_SCALE,
        sample_frames=FRAMES,
        patch_size=2,
        temporal_compression_ratio=4,
        max_text_seq_length=MAX_TEXT_SEQ_LENGTH,
    )

    # 4. VAE: four blocks (8x spatial), 4x temporal compression, like the real one
    vae = AutoencoderKLCogVideoX(
        in_channels=3,
        out_channels=3,
        down_block_types=("CogVideoXDownBlock3D",) * 4,
        up_block_types=("CogVideoXUpBlock3D",) * 4,
        block_out_channels=(8, 8, 8, 8),
        latent_channels=4,
        layers_per_block=1,
        norm_num_groups=2,
        temporal_compression_ratio=4,
    )

    scheduler = CogVideoXDDIMScheduler()
    return CogVideoXPipeline(
        tokenizer=tokenizer, text_encoder=text_encoder, vae=vae, transformer=transformer, scheduler=scheduler
    )


def build(out_dir: Path, force: bool = False) -> bool:
    """Write the pipeline to out_dir; returns False when one is already there (and force is off)."""
    if (out_dir / "model_index.json").exists() and not force:
        return False
    out_dir.mkdir(parents=True, exist_ok=True)
    make_pipeline().save_pretrained(out_dir)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path, help="where to save the pipeline (diffusers layout)")
    parser.add_argument("--force", action="store_true", help="rebuild even if OUT_DIR/model_index.json exists")
    args = parser.parse_args(argv)
    built = build(args.out_dir, force=args.force)
    print(f"{'built' if built else 'already there'}: {args.out_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

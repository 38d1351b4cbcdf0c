"""Run one preset-shaped generation: encode the prompt, denoise (from the job's photo, for an image-to-video model),
decode to uint8 frames, timing each stage."""

import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import torch
from PIL import Image

from .pipeline_loader import LoadedPipeline
from .presets import Preset
from .protocol import MAX_SEED
from .step_cache import step_cache

if TYPE_CHECKING:
    from .cfg_parallel import CfgParallel

logger = logging.getLogger(__name__)

STAGES = ("text_encode", "denoise", "vae_decode")
NEUTRAL_GREY = (128, 128, 128)  # warm-up's photo for an image-to-video model: no content, the preset's shape


class JobCancelled(Exception):
    """Raised from the step callback: the only way to leave diffusers' denoising loop between two steps."""


class OutOfMemory(Exception):
    """CUDA ran out of memory in `stage`; the job may be retried (PROTOCOL.md error kind `oom`)."""

    def __init__(self, stage: str, message: str):
        super().__init__(message)
        self.stage = stage


@dataclass
class GenerationOutput:
    frames: np.ndarray  # uint8, (frames, height, width, 3): rgb24 frame after frame
    seconds: dict[str, float] = field(default_factory=dict)  # per stage, see STAGES
    step_seconds: list[float] = field(default_factory=list)
    peak_vram_bytes: int | None = None


def is_cuda_oom(error: BaseException) -> bool:
    # Some CUDA libraries (cuBLAS, cuDNN) report exhaustion as a plain RuntimeError.
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def check_image(takes_image: bool, preset: Preset, image: "Image.Image | str | None") -> None:
    """The model and the job agree on a photo: an image-to-video model needs one, a text-to-video one takes none."""
    if takes_image and image is None:
        raise ValueError("image: this model animates a photo: the request brings no image")
    if not takes_image and image is not None:
        raise ValueError("image: this model makes videos from text alone: the request brings an image")
    if isinstance(image, Image.Image) and image.size != (preset.width, preset.height):
        raise ValueError(
            f"image: {image.width}x{image.height}, preset {preset.name} wants {preset.width}x{preset.height}"
        )


def load_image(path: str, preset: Preset) -> Image.Image:
    """The request's photo (PROTOCOL.md `image`): an absolute path of a PNG exactly the preset's size, as RGB.

    Any failure is the request's (ValueError, answered bad_input): a missing file, one that is not an image, a
    truncated one, another size. The size is read from the header, before any pixel is decoded.
    """
    if not os.path.isabs(path):
        raise ValueError(f"image: must be an absolute path, got {path!r}")
    try:
        with Image.open(path) as file:
            size = file.size
            image = file.convert("RGB") if size == (preset.width, preset.height) else None
    except (OSError, SyntaxError, Image.DecompressionBombError) as error:  # UnidentifiedImageError is an OSError
        raise ValueError(f"image: cannot read {path}: {error}") from error
    if image is None:
        wanted = f"{preset.width}x{preset.height}"
        raise ValueError(f"image: {path} is {size[0]}x{size[1]}, preset {preset.name} wants {wanted}")
    return image


def request_image(takes_image: bool, preset: Preset, path: str | None) -> Image.Image | None:
    """The job's photo, loaded and checked against the model and the preset (ValueError: bad input)."""
    check_image(takes_image, preset, path)  # refused before reading a file the model could not use
    return None if path is None else load_image(path, preset)


def neutral_image(preset: Preset) -> Image.Image:
    """A plain mid-grey photo of the preset's size: what warm-up animates on an image-to-video model."""
    return Image.new("RGB", (preset.width, preset.height), NEUTRAL_GREY)


def check_inputs(preset: Preset, prompt: str, negative_prompt: str, seed: int, steps: int | None) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError(f"prompt: must be a non-empty string, got {prompt!r}")
    if not isinstance(negative_prompt, str):
        raise ValueError(f"negative_prompt: must be a string, got {negative_prompt!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed: must be an integer from 0 to {MAX_SEED}, got {seed!r}")
    if steps is not None and steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    if not isinstance(preset, Preset):
        raise ValueError(f"preset: must be a Preset, got {type(preset).__name__}")


class StageClock:
    """Wall-clock seconds per stage; on CUDA it synchronizes first, so queued kernels count where they ran."""

    def __init__(self, device: torch.device):
        self.device = device
        self.seconds: dict[str, float] = {}

    def now(self) -> float:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        return time.perf_counter()

    @contextlib.contextmanager
    def stage(self, name: str, oom_message: str = "") -> Iterator[None]:
        start = self.now()
        try:
            yield
        except Exception as error:
            if is_cuda_oom(error):
                first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
                raise OutOfMemory(name, oom_message or f"CUDA out of memory in {name}: {first_line}") from error
            raise
        self.seconds[name] = round(self.now() - start, 4)


@torch.no_grad()
def generate(
    loaded: LoadedPipeline,
    preset: Preset,
    prompt: str,
    negative_prompt: str = "",
    seed: int = 0,
    *,
    steps: int | None = None,
    on_step: Callable[[int, int], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    cfg_parallel: "CfgParallel | None" = None,
    on_decode: Callable[[], None] | None = None,
    image: Image.Image | None = None,
) -> GenerationOutput:
    """Generate `preset.frames` frames for `prompt`; `steps` overrides the preset's (warm-up uses few).

    `image` is the photo an image-to-video model animates (RGB, the preset's size: load_image), required there and
    refused by a text-to-video model (ValueError, like the other arguments).

    `on_step(step, steps)` is called after each denoising step (1-based), `on_decode()` once the VAE starts decoding
    (the `decoding` stage users see); when `should_cancel()` turns true,
    JobCancelled is raised at the next step boundary. CUDA OOM surfaces as OutOfMemory naming the stage.
    With `cfg_parallel`, both ranks make this same call and cancel together; the follower's output has no frames.
    """
    check_inputs(preset, prompt, negative_prompt, seed, steps)
    check_image(loaded.takes_image, preset, image)
    # The whole job runs on the attention kernel chosen at start-up (the compiled graphs were traced with it), on
    # the transformer of the preset's precision (fp8: turbo.py).
    if cfg_parallel is None:
        with loaded.tuning.attention(), loaded.transformer_for(preset):
            return _generate(
                loaded, preset, prompt, negative_prompt, seed, steps, on_step, should_cancel, on_decode=on_decode,
                image=image,
            )
    with (
        loaded.tuning.attention(),
        loaded.transformer_for(preset, cfg_parallel=True),
        cfg_parallel.job(preset, prompt, negative_prompt, seed, steps, should_cancel, image) as job,
    ):
        return _generate(
            loaded, preset, prompt, negative_prompt, seed, steps, on_step, job.should_cancel, job.decodes, on_decode,
            image,
        )


def _generate(
    loaded, preset, prompt, negative_prompt, seed, steps, on_step, should_cancel, decode: bool = True, on_decode=None,
    image=None,
) -> GenerationOutput:
    pipe, device = loaded.pipe, loaded.device
    steps = steps or preset.steps
    do_classifier_free_guidance = preset.guidance > 1.0
    clock = StageClock(device)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    if should_cancel is not None and should_cancel():
        raise JobCancelled()  # cancelled (or shut down) before it started

    # 1. Encode the prompt (T5); in lowvram the encoder visits the GPU just for this
    with clock.stage("text_encode"), loaded.text_encoder_on_device():
        prompt_embeds, negative_prompt_embeds = pipe.encode_prompt(
            prompt=prompt,
            negative_prompt=negative_prompt,
            do_classifier_free_guidance=do_classifier_free_guidance,
            max_sequence_length=pipe.transformer.config.max_text_seq_length,
            device=device,
            dtype=pipe.transformer.dtype,  # the latents follow the embeddings' dtype: bf16 for fp8 presets
        )

    # 2. Denoise; the step callback times each step, reports progress and is where cancel takes effect
    step_seconds: list[float] = []
    last_step_end = [0.0]

    def on_step_end(_pipe, index: int, _timestep, _callback_kwargs) -> dict:
        now = clock.now()
        step_seconds.append(round(now - last_step_end[0], 4))
        last_step_end[0] = now
        if on_step is not None:
            on_step(index + 1, steps)
        if should_cancel is not None and should_cancel():
            raise JobCancelled()
        return {}

    generator = torch.Generator(device=device).manual_seed(seed)
    # An image-to-video pipeline encodes the photo with the VAE (the first latent frame it denoises from) inside
    # this call, before the first step: that time counts in step_seconds[0] like the latents' preparation.
    photo = {"image": image} if image is not None else {}
    # A preset's step cache (the `fast` preset) is on for this denoising loop only.
    with clock.stage("denoise"), step_cache(pipe.transformer, preset.cache):
        last_step_end[0] = clock.now()
        try:
            latents = pipe(
                **photo,
                prompt_embeds=prompt_embeds,
                negative_prompt_embeds=negative_prompt_embeds,
                height=preset.height,
                width=preset.width,
                num_frames=preset.frames,
                num_inference_steps=steps,
                guidance_scale=preset.guidance,
                generator=generator,
                output_type="latent",
                callback_on_step_end=on_step_end,
            ).frames
        except JobCancelled:
            pipe.maybe_free_model_hooks()  # what __call__ would have done had it returned
            raise
    del prompt_embeds, negative_prompt_embeds
    # CogVideoX 1.5 pads the front of the latents to whole temporal patches; output_type="latent" keeps the padding,
    # which diffusers' own decode path drops (a no-op for 1.0 models).
    latent_frames = (preset.frames - 1) // pipe.vae_scale_factor_temporal + 1
    latents = latents[:, latents.shape[1] - latent_frames :]
    if not decode:  # CFG parallelism's follower: the leader decodes the same latents
        return GenerationOutput(frames=np.empty(0, np.uint8), seconds=clock.seconds, step_seconds=step_seconds)

    # 3. Decode the latents to uint8 frames on the host
    if on_decode is not None:
        on_decode()
    with clock.stage("vae_decode", oom_message="CUDA out of memory in vae_decode (even with tiling)"):
        frames = decode_frames(loaded, latents)
    if frames.shape != (preset.frames, preset.height, preset.width, 3):
        raise RuntimeError(
            f"decoded frames have shape {frames.shape}, preset {preset.name} wants "
            f"{(preset.frames, preset.height, preset.width, 3)}"
        )

    peak = torch.cuda.max_memory_allocated(device) if device.type == "cuda" else None
    return GenerationOutput(frames=frames, seconds=clock.seconds, step_seconds=step_seconds, peak_vram_bytes=peak)


def decode_frames(loaded: LoadedPipeline, latents: torch.Tensor) -> np.ndarray:
    """Decode; a CUDA OOM retries once with VAE tiling and slicing (a lower peak) before giving up."""
    vae = loaded.pipe.vae
    try:
        return _decode(loaded, latents)
    except Exception as error:
        if not is_cuda_oom(error) or (vae.use_tiling and vae.use_slicing):
            raise
        logger.warning("CUDA OOM in vae_decode; retrying once with VAE tiling and slicing")
    # Outside the except block, so the failed attempt's tensors (held by the traceback) are freed first.
    torch.cuda.empty_cache()
    was_tiling, was_slicing = vae.use_tiling, vae.use_slicing
    vae.enable_tiling()
    vae.enable_slicing()
    try:
        return _decode(loaded, latents)
    finally:
        # Restore, so that a seed gives the same frames whatever jobs ran before (tiled decode differs slightly).
        vae.use_tiling, vae.use_slicing = was_tiling, was_slicing


def _decode(loaded: LoadedPipeline, latents: torch.Tensor) -> np.ndarray:
    pipe = loaded.pipe
    # (batch, channels, frames, height, width) in [-1, 1]; fp8 presets denoise in bf16, the VAE is fp16
    video = pipe.decode_latents(latents.to(pipe.vae.dtype))
    video = pipe.video_processor.postprocess_video(video=video, output_type="pt")  # (batch, frames, c, h, w) 0..1
    # Round in float32 like diffusers' numpy_to_pil, convert on the device, move 4x fewer bytes to the host.
    frames = (video[0].float() * 255).round().to(torch.uint8).permute(0, 2, 3, 1)
    return np.ascontiguousarray(frames.cpu().numpy())

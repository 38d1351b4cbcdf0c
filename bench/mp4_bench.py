"""MP4 encode and the smooth post-process at the full preset shape (720x480, 49 frames @ 8 fps), on this host's CPU.

The same ffmpeg arguments as src/media/mp4-encoder.ts (encodeMp4: rawvideo rgb24 -> libx264 crf 18 preset medium
yuv420p +faststart; smoothMp4: tpad clone 2, minterpolate to 2x fps mci/aobmc/bidir, trim to the clip's duration),
on random frames (worst case for x264: noise does not compress) and on smooth synthetic frames (a moving gradient,
closer to a real clip). Prints JSON.

    python bench/mp4_bench.py [--ffmpeg PATH] [--repeats 3] [--out results.json]
"""
import argparse
import json
import os
import platform
import subprocess
import tempfile
import time

import numpy as np

W, H, FRAMES, FPS = 720, 480, 49, 8


def frames_noise(rng):
    return rng.integers(0, 256, size=(FRAMES, H, W, 3), dtype=np.uint8)


def frames_gradient():
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    out = np.empty((FRAMES, H, W, 3), dtype=np.uint8)
    for i in range(FRAMES):
        shift = i * 6.0
        out[i, ..., 0] = ((x + shift) % 256).astype(np.uint8)
        out[i, ..., 1] = ((y + shift / 2) % 256).astype(np.uint8)
        out[i, ..., 2] = (((x + y) / 2 + shift) % 256).astype(np.uint8)
    return out


def timed(cmd):
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return time.perf_counter() - start


def encode_cmd(ffmpeg, raw, out):
    return [ffmpeg, '-y', '-v', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', f'{W}x{H}', '-r', str(FPS), '-i', raw,
            '-an', '-vcodec', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', '-crf', '18', '-preset', 'medium', '-r', str(FPS), '-f', 'mp4', out]


def smooth_cmd(ffmpeg, mp4, out):
    vf = f'tpad=stop_mode=clone:stop=2,minterpolate=fps={FPS * 2}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir,trim=duration={FRAMES / FPS}'
    return [ffmpeg, '-y', '-v', 'error', '-i', mp4, '-vf', vf, '-an', '-vcodec', 'libx264', '-pix_fmt', 'yuv420p', '-movflags', '+faststart',
            '-crf', '18', '-preset', 'medium', '-f', 'mp4', out]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--ffmpeg', default='ffmpeg')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--out')
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    result = {'cpus': os.cpu_count(), 'machine': platform.machine(), 'shape': f'{W}x{H}x{FRAMES}@{FPS}',
              'ffmpeg': subprocess.run([args.ffmpeg, '-hide_banner', '-version'], capture_output=True, text=True).stdout.split('\n')[0], 'cases': {}}
    with tempfile.TemporaryDirectory() as tmp:
        for name, frames in (('noise', frames_noise(rng)), ('gradient', frames_gradient())):
            raw, mp4, smooth = (os.path.join(tmp, f'{name}.{ext}') for ext in ('rgb', 'mp4', 'smooth.mp4'))
            frames.tofile(raw)
            encode = [timed(encode_cmd(args.ffmpeg, raw, mp4)) for _ in range(args.repeats)]
            smooth_s = [timed(smooth_cmd(args.ffmpeg, mp4, smooth)) for _ in range(args.repeats)]
            result['cases'][name] = {
                'mp4_encode_s': {'median': float(np.median(encode)), 'all': encode},
                'smooth_s': {'median': float(np.median(smooth_s)), 'all': smooth_s},
                'mp4_bytes': os.path.getsize(mp4),
                'smooth_bytes': os.path.getsize(smooth),
            }
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        with open(args.out, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()

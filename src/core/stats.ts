// The timing stats posted with every video, and their plain-text rendering.
import { z } from 'zod';
import { formatNumber, formatSeconds } from './locale.ts';
import { DEFAULT_LOCALE, type TextId, type TextParams, text as textIn } from './texts.ts';

export const jobStatsSchema = z.object({
  preset: z.string(),
  seed: z.number().int(),
  steps: z.number().int(),
  width: z.number().int(),
  height: z.number().int(),
  frames: z.number().int(),
  fps: z.number(),
  queueWaitS: z.number().nonnegative(),
  textEncodeS: z.number().nonnegative(),
  denoiseS: z.number().nonnegative(),
  denoisePerStepS: z.number().nonnegative(),
  vaeDecodeS: z.number().nonnegative(),
  engineTotalS: z.number().nonnegative(),
  mp4EncodeS: z.number().nonnegative(),
  /** The smooth post-process (motion-compensated interpolation to twice the frame rate), when asked for. */
  smoothS: z.number().nonnegative().optional(),
  /** Seconds to post the video; measured after posting, so it is null in the caption itself. */
  deliveryS: z.number().nonnegative().nullable(),
  /** From enqueue to the video being ready to post (then to posted, once delivery is measured). */
  endToEndS: z.number().nonnegative(),
  gpuName: z.string().nullable(),
  peakVramBytes: z.number().nonnegative().nullable(),
  gpuUtilMean: z.number().min(0).max(1).nullable(),
  workerId: z.string(),
  cached: z.boolean(),
  /** Made by the tiny demo model (ENGINE_MODEL=auto without a GPU or weights): the caption says so. */
  demoModel: z.boolean().optional(),
});
export type JobStats = z.infer<typeof jobStatsSchema>;

/** How much of the stats a person asked to see (/settings stats=full|short). */
export type StatsMode = 'full' | 'short';

/** Short lines, readable on a phone, in the reader's language; the adapters escape it for their own markup. */
export function formatStats(st: JobStats, locale: string = DEFAULT_LOCALE, mode: StatsMode = 'full'): string {
  const text = (id: TextId, params: TextParams = {}) => textIn(id, params, locale);
  const s = (x: number) => formatSeconds(x, locale);
  const gib = (b: number) => `${formatNumber(b / 2 ** 30, locale, 1)} GiB`;
  if (mode === 'short') {
    return [
      text('video.preset_line', { preset: st.preset, seed: st.seed }),
      text('stats.end_to_end', { seconds: s(st.endToEndS) }),
      st.demoModel ? text('demo_model') : '',
    ]
      .filter((l) => l.length > 0)
      .join('\n');
  }
  const upload = st.deliveryS === null ? '' : text('stats.upload', { upload: s(st.deliveryS) });
  const lines = [
    text('stats.shape', { preset: st.preset, width: st.width, height: st.height, frames: st.frames, fps: st.fps, steps: st.steps, seed: st.seed }),
    st.cached
      ? text('stats.cached', { queue: s(st.queueWaitS) })
      : text('stats.stages', { queue: s(st.queueWaitS), text: s(st.textEncodeS), denoise: s(st.denoiseS), perStep: s(st.denoisePerStepS) }),
    st.cached ? '' : `${text('stats.decode_encode', { vae: s(st.vaeDecodeS), mp4: s(st.mp4EncodeS) })}${st.smoothS === undefined ? '' : text('stats.smooth', { smooth: s(st.smoothS), fps: st.fps })}${upload}`,
    text('stats.end_to_end', { seconds: s(st.endToEndS) }),
    [
      st.gpuName ?? text('stats.cpu'),
      st.peakVramBytes === null ? null : text('stats.peak', { vram: gib(st.peakVramBytes) }),
      st.gpuUtilMean === null ? null : text('stats.util', { percent: Math.round(st.gpuUtilMean * 100) }),
    ]
      .filter(Boolean)
      .join(' · '),
    st.demoModel ? text('demo_model') : '',
  ];
  return lines.filter((l) => l.length > 0).join('\n');
}

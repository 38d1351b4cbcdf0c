// The CLI's outbound side: the MP4 is copied to a local path. It has no status message: the CLI process renders
// the job's events in its terminal (terminal-status.ts) as they arrive through QueueEvents.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { JobRequest } from '../../queue/job-contract.ts';
import type { DeliverableVideo, PlatformOutbound, StatusSurface } from '../platform.ts';

const targetSchema = z.object({ outPath: z.string().optional() });

export class LocalFileDelivery implements PlatformOutbound {
  readonly platform = 'cli' as const;
  readonly status: StatusSurface | null = null;

  constructor(private readonly outputDir: string) {}

  uploadLimitBytes(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const { outPath } = targetSchema.parse(job.delivery.target);
    const dest = resolve(outPath ?? join(this.outputDir, `${jobId}.mp4`));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(video.path, dest);
    return { path: dest };
  }
}

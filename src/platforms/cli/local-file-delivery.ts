// Delivery for the CLI: the MP4 is copied to a local path; the CLI follows progress through QueueEvents.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import type { JobRequest } from '../../queue/job-contract.ts';
import type { DeliverableVideo, Delivery, DeliveryFailure } from '../delivery.ts';
import type { JobProgress } from '../../queue/job-contract.ts';

const targetSchema = z.object({ outPath: z.string().optional() });

export class LocalFileDelivery implements Delivery {
  readonly platform = 'cli' as const;

  constructor(private readonly outputDir: string) {}

  async progress(_job: JobRequest, _jobId: string, _update: JobProgress): Promise<void> {}

  async deliver(job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const { outPath } = targetSchema.parse(job.delivery.target);
    const dest = resolve(outPath ?? join(this.outputDir, `${jobId}.mp4`));
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(video.path, dest);
    return { path: dest };
  }

  async fail(_job: JobRequest, _jobId: string, _failure: DeliveryFailure): Promise<void> {}
}

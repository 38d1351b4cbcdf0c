// The CLI's outbound side: the worker keeps the MP4 under its own OUTPUT_DIR (cli/<job id>.mp4), never at a path
// taken from the job (Redis may be shared across hosts: a planted path would be written wherever it points); the
// CLI process copies it from there to its --out (cli-clip.ts). It has no status message: the CLI renders the job's
// events in its terminal (terminal-status.ts) as they arrive through QueueEvents.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JobRequest } from '../../queue/job-contract.ts';
import type { DeliverableVideo, PlatformOutbound, StatusSurface } from '../platform.ts';
import { cliClipPath } from './cli-clip.ts';

export class LocalFileDelivery implements PlatformOutbound {
  readonly platform = 'cli' as const;
  readonly status: StatusSurface | null = null;

  constructor(private readonly outputDir: string) {}

  uploadLimitBytes(): number {
    return Number.MAX_SAFE_INTEGER;
  }

  async deliver(_job: JobRequest, jobId: string, video: DeliverableVideo): Promise<Record<string, unknown>> {
    const dest = cliClipPath(this.outputDir, jobId);
    await mkdir(dirname(dest), { recursive: true });
    await copyFile(video.path, dest);
    return { path: dest };
  }
}

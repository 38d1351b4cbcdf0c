// Where a CLI job's clip lies on the worker's host, from our own values only (OUTPUT_DIR and a job id checked as
// our UUID), and how the CLI takes it to the path its user asked for.
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { jobIdSchema } from '../../core/buttons.ts';

export function cliClipPath(outputDir: string, jobId: string): string {
  return join(resolve(outputDir), 'cli', `${jobIdSchema.parse(jobId)}.mp4`);
}

/**
 * Moves the worker's copy to `out` when this host shares the worker's OUTPUT_DIR (npm run video, one host);
 * returns false when the clip is not here (the worker ran on another host: it stays there).
 */
export async function takeCliClip(outputDir: string, jobId: string, out: string): Promise<boolean> {
  const source = cliClipPath(outputDir, jobId);
  if (!existsSync(source)) return false;
  await mkdir(dirname(out), { recursive: true });
  await copyFile(source, out);
  await rm(source, { force: true });
  return true;
}

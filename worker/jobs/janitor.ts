// Keeps the worker's disk bounded: stale job folders, old stored clips, and a size cap on the clip store.
import { readdir, rm, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from 'pino';

export interface JanitorOptions {
  workDir: string;
  outputDir: string;
  /** Job folders older than this are leftovers of a crash (a live job touches its folder constantly). */
  staleWorkMs: number;
  /** Stored clips older than this are deleted (the result cache then regenerates on demand). */
  retentionMs: number;
  /** Above this many bytes, the oldest clips go first. */
  maxOutputBytes: number;
  log: Logger;
}

interface FileInfo {
  path: string;
  bytes: number;
  mtimeMs: number;
}

async function listFiles(dir: string): Promise<FileInfo[]> {
  const out: FileInfo[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) {
      const s = await stat(path).catch(() => null);
      if (s) out.push({ path, bytes: s.size, mtimeMs: s.mtimeMs });
    }
  }
  return out;
}

export interface SweepReport {
  removedWorkDirs: number;
  removedClips: number;
  outputBytes: number;
}

/** One pass. A running job's folder is young (far younger than staleWorkMs), so it is never touched. */
export async function sweep(opts: JanitorOptions, now = Date.now()): Promise<SweepReport> {
  let removedWorkDirs = 0;
  const jobs = await readdir(opts.workDir, { withFileTypes: true }).catch(() => []);
  for (const entry of jobs) {
    const path = join(opts.workDir, entry.name);
    const s = await stat(path).catch(() => null);
    if (s && now - s.mtimeMs > opts.staleWorkMs) {
      await rm(path, { recursive: true, force: true });
      removedWorkDirs += 1;
    }
  }

  let removedClips = 0;
  const clips = (await listFiles(opts.outputDir)).sort((a, b) => a.mtimeMs - b.mtimeMs);
  let total = clips.reduce((sum, f) => sum + f.bytes, 0);
  for (const clip of clips) {
    if (now - clip.mtimeMs <= opts.retentionMs && total <= opts.maxOutputBytes) break;
    await rm(clip.path, { force: true });
    total -= clip.bytes;
    removedClips += 1;
  }
  if (removedWorkDirs || removedClips) opts.log.info({ removedWorkDirs, removedClips, outputBytes: total }, 'janitor swept');
  return { removedWorkDirs, removedClips, outputBytes: total };
}

/**
 * Removes what earlier attempts of `jobId` left in workDir when their worker died mid-job: their folders
 * (`<jobId>-<attempt>`) and upload copies (`discord/<jobId>-discord-*.mp4`, `telegram-<jobId>.mp4`).
 */
export async function removeJobLeftovers(workDir: string, jobId: string): Promise<number> {
  let removed = 0;
  const sweepDir = async (dir: string, depth: number): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.name.includes(jobId)) {
        await rm(path, { recursive: true, force: true });
        removed += 1;
      } else if (entry.isDirectory() && depth > 0) {
        await sweepDir(path, depth - 1);
      }
    }
  };
  await sweepDir(workDir, 1);
  return removed;
}

export class DiskFullError extends Error {
  override name = 'DiskFullError';
}

/** Refuses to start a job whose frames could not fit: better a clear retry later than a half-written file. */
export async function assertDiskSpace(dir: string, neededBytes: number, reserveBytes: number): Promise<void> {
  const fs = await statfs(dir);
  const free = fs.bavail * fs.bsize;
  if (free < neededBytes + reserveBytes) {
    const mib = (b: number) => Math.round(b / 2 ** 20);
    throw new DiskFullError(`the worker's disk is full (${mib(free)} MiB free, ${mib(neededBytes + reserveBytes)} MiB needed)`);
  }
}

/** Sweeps now and every `intervalMs`; returns the function that stops it. */
export function startJanitor(opts: JanitorOptions, intervalMs: number): () => void {
  const run = () => void sweep(opts).catch((err: Error) => opts.log.warn({ err: err.message }, 'janitor sweep failed'));
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}

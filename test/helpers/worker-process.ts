// Runs a GPU worker as its own OS process (npm run worker), so a test can kill it like a crash would.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import type { Env } from '../../config/env.ts';
import { REPO_ROOT } from './test-config.ts';

/** The environment that makes a child process parse to the same `config`. */
export function envFor(config: Env, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: 'silent' };
  for (const [name, value] of Object.entries(config)) {
    if (value === null || value === undefined) continue; // unset optional variables stay unset
    out[name] = Array.isArray(value) ? value.join(',') : typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
  }
  return { ...out, ...extra };
}

export function spawnWorkerProcess(config: Env, extra: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/bin/worker.ts')], {
    cwd: REPO_ROOT,
    env: envFor(config, extra),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

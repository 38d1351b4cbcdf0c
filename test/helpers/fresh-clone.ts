// A fresh clone of this repository, as a new user would have it: no .env, no var/, no models; its node_modules
// and .venv borrowed from this checkout (links, so nothing is installed and the originals are never written).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT } from './test-config.ts';

export interface FreshClone {
  dir: string;
  cleanup(): void;
}

/** `git clone` of this checkout's HEAD into a temp dir. */
export function freshClone(): FreshClone {
  const parent = mkdtempSync(join(tmpdir(), 'cogcast-clone-'));
  const dir = join(parent, 'cogcast');
  execFileSync('git', ['clone', '--quiet', '--no-local', REPO_ROOT, dir], { stdio: 'ignore' });
  // node_modules: a real folder of links to each package, so a stray `npm ci` there could only delete links.
  const modules = join(dir, 'node_modules');
  mkdirSync(modules);
  const source = realpathSync(join(REPO_ROOT, 'node_modules'));
  for (const entry of readdirSync(source)) {
    if (entry === '.cogcast-stamp' || entry === '.package-lock.json') continue;
    symlinkSync(join(source, entry), join(modules, entry));
  }
  // setup.sh's own stamp for this clone's package files: the packages are the checkout's, already installed.
  writeFileSync(join(modules, '.cogcast-stamp'), `${setupHash(dir, ['package.json', 'package-lock.json'])}\n`);
  symlinkSync(realpathSync(join(REPO_ROOT, '.venv')), join(dir, '.venv'));
  return { dir, cleanup: () => rmSync(parent, { recursive: true, force: true }) };
}

/** scripts/setup.sh's hash_of: `sha256sum FILES | sha256sum | cut -c1-16`. */
function setupHash(dir: string, files: string[]): string {
  const listing = files.map((f) => `${createHash('sha256').update(readFileSync(join(dir, f))).digest('hex')}  ${f}\n`).join('');
  return createHash('sha256').update(listing).digest('hex').slice(0, 16);
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RunningCommand {
  child: ChildProcess;
  output(): { stdout: string; stderr: string };
  /** Resolves with the first stdout match of `pattern`; rejects if the process exits first or `timeoutMs` passes. */
  waitFor(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Runs `npm <args>` in `cwd` with exactly `env` (plus PATH and HOME as given). */
export function runNpm(cwd: string, args: string[], env: NodeJS.ProcessEnv): RunningCommand {
  const child = spawn('npm', args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    for (const check of waiters) check();
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    exited,
    output: () => ({ stdout, stderr }),
    waitFor(pattern, timeoutMs) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => done(new Error(`no ${pattern} on stdout within ${timeoutMs} ms\n--- stdout\n${stdout}\n--- stderr (tail)\n${stderr.slice(-3000)}`)), timeoutMs);
        const check = () => {
          const match = pattern.exec(stdout);
          if (match) done(null, match);
        };
        const done = (err: Error | null, match?: RegExpMatchArray) => {
          clearTimeout(timer);
          waiters.delete(check);
          if (err) reject(err);
          else resolve(match!);
        };
        waiters.add(check);
        void exited.then(({ code, signal }) => done(new Error(`npm ${args.join(' ')} exited (${signal ?? code}) before ${pattern}\n--- stdout\n${stdout}\n--- stderr (tail)\n${stderr.slice(-3000)}`)));
        check();
      });
    },
  };
}

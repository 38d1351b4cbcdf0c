// Which weights the engine loads. ENGINE_MODEL=auto takes CogVideoX-2b where a CUDA GPU can run it (a local
// directory, else the hub when it answers) and the tiny demo model elsewhere; an explicit ENGINE_MODEL is checked
// in seconds and never replaced: a missing or broken one is one paragraph saying what was tried and how to fix it.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Logger } from 'pino';

export const LOCAL_MODEL_DIR = 'models/CogVideoX-2b';
export const HUB_MODEL_ID = 'THUDM/CogVideoX-2b';
/** Where the demo model is built on first use (a tiny random CogVideoX, diffusers' own classes). */
export const DEMO_MODEL_DIR = 'var/demo-model';
/** The demo model only makes tiny clips: its presets, used unless PRESETS_FILE is set. */
export const DEMO_PRESETS_FILE = 'config/presets.demo.json';

const ENGINE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../engine');
const MAKE_TINY_PIPELINE = join(ENGINE_DIR, 'make_tiny_pipeline.py');

export type ModelSource = 'local' | 'hub' | 'demo';

export interface ResolvedModel {
  /** What the engine gets as ENGINE_MODEL: an absolute directory or a hub id. */
  model: string;
  source: ModelSource;
  demo: boolean;
  /** One line for the log and the start-up summary: why this one. */
  why: string;
  /** The presets file to use instead of PRESETS_FILE (the demo model's), or null. */
  presetsFile: string | null;
}

/** The configured model cannot be used; the message is one paragraph for the operator (no traceback). */
export class ModelUnavailableError extends Error {
  override name = 'ModelUnavailableError';
}

/** What the machine offers; injectable so tests decide without a GPU or a network. */
export interface ModelProbes {
  /** Number of CUDA GPUs this process may use. */
  cudaGpus(): Promise<number>;
  /** 'found' / 'missing' when the hub answered about `id`, 'offline' when it did not answer. */
  hub(id: string): Promise<'found' | 'missing' | 'offline'>;
  /** Builds the demo model into `dir`. */
  buildDemo(dir: string): Promise<void>;
}

export interface ModelResolutionInput {
  /** ENGINE_MODEL as configured: 'auto', a directory or a hub id. */
  requested: string;
  /** ENGINE_DEVICE: auto, cpu, cuda, cuda:N. */
  device: string;
  /** The engine's Python (builds the demo model). */
  python: string;
  /** The operator set PRESETS_FILE: the demo model keeps it. */
  presetsFileSet: boolean;
  /** Folder that relative defaults (models/, var/, config/) are taken from: the repository root. */
  root: string;
  env?: NodeJS.ProcessEnv;
  log: Logger;
  probes?: Partial<ModelProbes>;
}

export async function resolveEngineModel(input: ModelResolutionInput): Promise<ResolvedModel> {
  const env = input.env ?? process.env;
  const probes: ModelProbes = { ...defaultProbes(input.python, env), ...input.probes };
  if (input.requested.trim().toLowerCase() === 'auto') return resolveAuto(input, env, probes);
  return resolveExplicit(input.requested, input, env, probes);
}

async function resolveAuto(input: ModelResolutionInput, env: NodeJS.ProcessEnv, probes: ModelProbes): Promise<ResolvedModel> {
  const gpus = input.device === 'cpu' ? 0 : await probes.cudaGpus();
  let why: string;
  if (gpus === 0) {
    why = input.device === 'cpu' ? 'ENGINE_DEVICE=cpu: CogVideoX-2b is far too slow on a CPU' : 'no CUDA GPU on this host';
  } else {
    const local = resolve(input.root, LOCAL_MODEL_DIR);
    if (existsSync(local)) {
      const problem = modelDirectoryProblem(local);
      if (problem === null) return { model: local, source: 'local', demo: false, why: `CUDA GPU and weights in ${LOCAL_MODEL_DIR}`, presetsFile: null };
      input.log.warn({ dir: local, problem }, `${LOCAL_MODEL_DIR} is incomplete; not using it`);
    }
    if (hubCacheSnapshot(HUB_MODEL_ID, env)) return { model: HUB_MODEL_ID, source: 'hub', demo: false, why: `CUDA GPU and ${HUB_MODEL_ID} in the Hugging Face cache`, presetsFile: null };
    const hub = env.HF_HUB_OFFLINE === '1' ? 'offline' : await probes.hub(HUB_MODEL_ID);
    if (hub === 'found') return { model: HUB_MODEL_ID, source: 'hub', demo: false, why: `CUDA GPU, no ${LOCAL_MODEL_DIR}: downloading ${HUB_MODEL_ID} from the hub on first load`, presetsFile: null };
    why = `CUDA GPU but no weights (no ${LOCAL_MODEL_DIR}, and the hub does not answer)`;
  }
  const model = await demoModel(input, probes);
  return { model, source: 'demo', demo: true, why, presetsFile: input.presetsFileSet ? null : resolve(input.root, DEMO_PRESETS_FILE) };
}

async function resolveExplicit(requested: string, input: ModelResolutionInput, env: NodeJS.ProcessEnv, probes: ModelProbes): Promise<ResolvedModel> {
  const fix = `Fix: put a CogVideoX-2b in the diffusers layout there (npm run model:download -- --to <dir>), point ENGINE_MODEL at such a directory, or unset ENGINE_MODEL (auto: the tiny demo model where there are no weights).`;
  const path = resolve(input.root, expandHome(requested));
  if (existsSync(path)) {
    const problem = modelDirectoryProblem(path);
    if (problem !== null) throw new ModelUnavailableError(`ENGINE_MODEL=${requested}: ${path} is not a usable model directory: ${problem}. ${fix}`);
    return { model: path, source: 'local', demo: false, why: `ENGINE_MODEL=${requested}`, presetsFile: null };
  }
  if (!looksLikeHubId(requested)) throw new ModelUnavailableError(`ENGINE_MODEL=${requested}: no such directory (${path}). ${fix}`);
  if (hubCacheSnapshot(requested, env)) return { model: requested, source: 'hub', demo: false, why: `ENGINE_MODEL=${requested} (Hugging Face cache)`, presetsFile: null };
  const hub = env.HF_HUB_OFFLINE === '1' ? 'offline' : await probes.hub(requested);
  if (hub === 'found') return { model: requested, source: 'hub', demo: false, why: `ENGINE_MODEL=${requested} (from the hub)`, presetsFile: null };
  if (hub === 'missing') throw new ModelUnavailableError(`ENGINE_MODEL=${requested}: neither a directory here (${path}) nor a model the hub knows. ${fix}`);
  throw new ModelUnavailableError(
    `ENGINE_MODEL=${requested}: no such directory (${path}), and as a hub id it needs the hub, which this host cannot reach (${hubEndpoint(env)}), nor is it in the Hugging Face cache. ${fix}`,
  );
}

/** null when `dir` holds a diffusers pipeline whose components are all there; else what is wrong. */
export function modelDirectoryProblem(dir: string): string | null {
  let stat;
  try {
    stat = statSync(dir);
  } catch {
    return 'it does not exist';
  }
  if (!stat.isDirectory()) return 'it is a file, not a directory';
  let index: Record<string, unknown>;
  try {
    index = JSON.parse(readFileSync(join(dir, 'model_index.json'), 'utf8')) as Record<string, unknown>;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no model_index.json in it' : 'its model_index.json is not valid JSON';
  }
  if (typeof index._class_name !== 'string' || !index._class_name.startsWith('CogVideoX')) return `model_index.json names ${JSON.stringify(index._class_name ?? null)}, not a CogVideoX pipeline`;
  for (const [component, spec] of Object.entries(index)) {
    if (component.startsWith('_') || !Array.isArray(spec) || spec[0] === null) continue;
    const folder = join(dir, component);
    let files: string[];
    try {
      files = readdirSync(folder);
    } catch {
      return `the ${component} folder is missing`;
    }
    if (['transformer', 'vae', 'text_encoder'].includes(component) && !files.some((f) => /\.(safetensors|bin)$/.test(f))) return `${component} has no weights (no .safetensors file)`;
    if (files.length === 0) return `the ${component} folder is empty`;
  }
  return null;
}

const looksLikeHubId = (s: string) => /^[A-Za-z0-9][\w.-]*\/[\w.-]+$/.test(s) && !s.includes('..');
const expandHome = (p: string) => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);
const hubEndpoint = (env: NodeJS.ProcessEnv) => (env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');

/** The snapshot directory of `id` in the Hugging Face cache, when one with a model_index.json is there. */
export function hubCacheSnapshot(id: string, env: NodeJS.ProcessEnv): string | null {
  const cache = env.HF_HUB_CACHE ?? join(env.HF_HOME ?? join(env.HOME ?? homedir(), '.cache', 'huggingface'), 'hub');
  const snapshots = join(cache, `models--${id.replace('/', '--')}`, 'snapshots');
  try {
    for (const snapshot of readdirSync(snapshots)) {
      if (modelDirectoryProblem(join(snapshots, snapshot)) === null) return join(snapshots, snapshot);
    }
  } catch {
    /* not cached */
  }
  return null;
}

/** The demo model's directory, built on first use (a few seconds) and kept under var/. */
async function demoModel(input: ModelResolutionInput, probes: ModelProbes): Promise<string> {
  const dir = resolve(input.root, DEMO_MODEL_DIR);
  if (modelDirectoryProblem(dir) === null) return dir;
  input.log.info({ dir }, 'building the tiny demo model (first use): diffusers CogVideoX classes, random weights');
  // Built beside it, then renamed: a build cut short never looks like a model.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  try {
    await probes.buildDemo(partial);
    rmSync(dir, { recursive: true, force: true });
    renameSync(partial, dir);
  } catch (err) {
    rmSync(partial, { recursive: true, force: true });
    throw new ModelUnavailableError(`The tiny demo model could not be built in ${dir} (${(err as Error).message}). Run npm start again (it installs the engine's Python environment), or set ENGINE_MODEL to a CogVideoX-2b directory.`);
  }
  return dir;
}

function defaultProbes(python: string, env: NodeJS.ProcessEnv): ModelProbes {
  return {
    async cudaGpus() {
      const visible = env.CUDA_VISIBLE_DEVICES;
      if (visible !== undefined && (visible.trim() === '' || visible.trim() === '-1')) return 0;
      // nvidia-smi answers in milliseconds where importing torch to ask would take seconds.
      try {
        const { stdout } = await promisify(execFile)('nvidia-smi', ['-L'], { timeout: 10_000 });
        return stdout.split('\n').filter((line) => line.startsWith('GPU ')).length;
      } catch {
        return 0;
      }
    },
    async hub(id) {
      try {
        const res = await fetch(`${hubEndpoint(env)}/api/models/${id}`, { method: 'GET', signal: AbortSignal.timeout(3000) });
        if (res.ok) return 'found';
        return res.status === 404 || res.status === 401 ? 'missing' : 'offline';
      } catch {
        return 'offline';
      }
    },
    buildDemo(dir) {
      return new Promise<void>((done, fail) => {
        const child = spawn(isAbsolute(python) ? python : resolve(python), [MAKE_TINY_PIPELINE, dir], {
          env: { ...env, HF_HUB_DISABLE_PROGRESS_BARS: '1', HF_HUB_OFFLINE: '1', TRANSFORMERS_VERBOSITY: 'error', DIFFUSERS_VERBOSITY: 'error' },
          stdio: ['ignore', 'ignore', 'pipe'],
        });
        let stderr = '';
        child.stderr.on('data', (chunk: Buffer) => {
          stderr = (stderr + chunk.toString()).slice(-2000);
        });
        child.once('error', (err) => fail(new Error(`cannot run ${python}: ${err.message}`)));
        child.once('exit', (code) => {
          if (code === 0) done();
          else fail(new Error(stderr.trim().split('\n').at(-1) ?? `exit code ${code}`));
        });
      });
    },
  };
}

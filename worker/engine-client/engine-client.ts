// Starts, talks to and supervises the long-lived Python engine process (one per GPU).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { engineEnvironment } from './engine-environment.ts';
import { EngineBusyError, EngineCancelledError, EngineDeadError, EngineGenerateError } from './engine-errors.ts';
import {
  type EngineMemory,
  type EngineStatus,
  type EngineMessage,
  type EngineReady,
  type EngineRequest,
  type EngineResult,
  type EngineSettings,
  type EngineStats,
  type EngineTuning,
  type GenerateRequest,
  type ProgressStage,
  encodeRequest,
  parseEngineLine,
} from './engine-protocol.ts';

export type EngineState = 'stopped' | 'starting' | 'idle' | 'generating' | 'restarting';

export interface EngineClientOptions {
  python: string;
  /** Folder holding the cogcast_engine package. */
  engineDir: string;
  /** The engine's settings document (engine-settings.ts), handed over as COGCAST_ENGINE_SETTINGS. */
  settings: EngineSettings;
  /** The environment the engine's is taken from (allow-listed: engine-environment.ts); default process.env. */
  env?: NodeJS.ProcessEnv;
  startTimeoutMs: number;
  /** A busy engine silent for this long is hung: it is killed and restarted. */
  stepTimeoutMs: number;
  log: Logger;
  /** Delay before restarting after a crash; doubles on repeated crashes, capped at 30 s. */
  restartDelayMs?: number;
}

/** What the engine has told about itself: for logs, /metrics and the heartbeat (/gpu status). */
export interface EngineReport {
  tuning: EngineTuning | null;
  warmupSeconds: Record<string, number>;
  /** torch.compile graphs built after ready (0 when serving works as designed), as of the last result or stats. */
  recompiles: number;
  /** The memory report after the last job's torch.cuda.empty_cache(). */
  lastMemory: (Omit<EngineMemory, 'type'> & { at: number }) | null;
  /** Peak VRAM the last finished job allocated (null on CPU). */
  lastPeakVramBytes: number | null;
}

export interface EngineClientEvents {
  ready: [ready: EngineReady];
  restart: [restarts: number];
  result: [result: EngineResult];
  memory: [memory: EngineMemory];
  /** Start-up progress (loading, warming <preset>): the start-up summary shows it. */
  status: [status: EngineStatus];
  /** stop() finished: the engine is gone for good. */
  stopped: [];
}

export type ProgressCallback = (step: number, steps: number, stage: ProgressStage) => void;

interface InFlight {
  jobId: string;
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
  onProgress: ProgressCallback;
  watchdog?: NodeJS.Timeout;
}

export class EngineClient extends EventEmitter<EngineClientEvents> {
  state: EngineState = 'stopped';
  restarts = 0;
  ready: EngineReady | null = null;
  readonly report: EngineReport = { tuning: null, warmupSeconds: {}, recompiles: 0, lastMemory: null, lastPeakVramBytes: null };
  private child: ChildProcessWithoutNullStreams | null = null;
  private starting: Promise<EngineReady> | null = null;
  private inFlight: InFlight | null = null;
  private statsWaiters: ((s: EngineStats) => void)[] = [];
  private stderrTail: string[] = [];
  private stopping = false;
  private consecutiveCrashes = 0;

  constructor(private readonly opts: EngineClientOptions) {
    super();
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the engine if needed and resolves once it has loaded the model and warmed up every preset. */
  start(): Promise<EngineReady> {
    if (this.ready && this.child) return Promise.resolve(this.ready);
    this.starting ??= this.spawnEngine().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private spawnEngine(): Promise<EngineReady> {
    this.stopping = false;
    this.setState(this.restarts > 0 ? 'restarting' : 'starting');
    const child = spawn(this.opts.python, ['-u', '-m', 'cogcast_engine'], {
      cwd: this.opts.engineDir,
      env: engineEnvironment(this.opts.env ?? process.env, this.opts.settings),
      stdio: ['pipe', 'pipe', 'pipe'],
      // A process group of its own: Ctrl-C or a group kill aimed at the worker must not stop the engine mid-step.
      // It takes orders from the worker only, and ends with it (stdin EOF, parent-death watch: parent_watch.py).
      detached: true,
    });
    this.child = child;
    this.ready = null;
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderrTail = [...this.stderrTail.slice(-19), line];
      this.opts.log.warn({ engine: 'stderr' }, line);
    });
    return new Promise<EngineReady>((resolve, reject) => {
      let violation: string | null = null;
      const timer = setTimeout(() => {
        this.opts.log.error('engine did not become ready in time; killing it');
        this.killGroup(child);
        reject(new EngineDeadError(`engine not ready after ${Math.round(this.opts.startTimeoutMs / 1000)} s`));
      }, this.opts.startTimeoutMs);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const parsed = parseEngineLine(line);
        if (!parsed.ok && parsed.kind === 'stray') {
          this.opts.log.warn({ line: line.slice(0, 500), problem: parsed.problem }, 'engine wrote a non-protocol line');
          return;
        }
        if (!parsed.ok) {
          // A worker and an engine of different builds: waiting (for ready, for a result) would only hide it.
          violation = parsed.problem;
          this.opts.log.error({ problem: parsed.problem }, 'engine broke the contract (worker and engine of different builds?): stopping it');
          this.killGroup(child);
          return;
        }
        const msg = parsed.message;
        if (msg.type === 'ready') {
          clearTimeout(timer);
          this.onReady(msg);
          resolve(msg);
          return;
        }
        this.onMessage(msg);
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new EngineDeadError(`engine could not be started (${this.opts.python}): ${err.message}`));
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        const why = violation
          ? `engine broke the contract (${violation}): worker and engine are of different builds`
          : `engine exited (${signal ?? `code ${code}`})${this.stderrTail.length ? `: ${this.stderrTail.slice(-3).join(' | ')}` : ''}`;
        if (this.child === child) this.child = null;
        this.ready = null;
        reject(new EngineDeadError(why));
        this.failInFlight(new EngineDeadError(why));
        if (this.stopping) {
          this.setState('stopped');
          return;
        }
        this.opts.log.error({ code, signal }, why);
        this.scheduleRestart();
      });
    });
  }

  private onReady(ready: EngineReady): void {
    this.ready = ready;
    this.consecutiveCrashes = 0;
    this.report.tuning = ready.tuning;
    this.report.warmupSeconds = ready.warmup_seconds;
    this.report.recompiles = 0; // counted from this engine's ready
    this.setState('idle');
    this.opts.log.info(
      { device: ready.device, gpu: ready.gpu_name, dtype: ready.dtype, memoryProfile: ready.memory_profile, loadS: ready.load_seconds, warmupS: ready.warmup_seconds, tuning: ready.tuning },
      'engine ready',
    );
    this.emit('ready', ready);
  }

  private scheduleRestart(): void {
    this.restarts += 1;
    this.consecutiveCrashes += 1;
    this.setState('restarting');
    this.emit('restart', this.restarts);
    const base = this.opts.restartDelayMs ?? 1000;
    const delay = Math.min(base * 2 ** (this.consecutiveCrashes - 1), 30_000);
    setTimeout(() => {
      if (this.stopping || this.child) return;
      this.start().catch((err: Error) => this.opts.log.error({ err: err.message }, 'engine restart failed'));
    }, delay).unref();
  }

  private onMessage(msg: Exclude<EngineMessage, EngineReady>): void {
    const job = this.inFlight;
    switch (msg.type) {
      case 'status':
        this.opts.log.info({ preset: msg.preset }, `engine ${msg.state}`);
        this.emit('status', msg); // loading, warming <preset>: the start-up summary shows them
        break;
      case 'progress':
        if (job && msg.job_id === job.jobId) {
          this.armWatchdog(job);
          job.onProgress(msg.step, msg.steps, msg.stage);
        }
        break;
      case 'result':
        this.onResult(msg);
        if (job && msg.job_id === job.jobId) this.settle(job, () => job.resolve(msg));
        break;
      case 'cancelled':
        if (job && msg.job_id === job.jobId) this.settle(job, () => job.reject(new EngineCancelledError('cancelled')));
        break;
      case 'error':
        if (job && (msg.job_id === job.jobId || msg.job_id === null)) {
          this.settle(job, () => job.reject(new EngineGenerateError(msg.kind, msg.message)));
        } else {
          this.opts.log.warn({ kind: msg.kind, jobId: msg.job_id }, `engine error: ${msg.message}`);
        }
        break;
      case 'memory':
        this.report.lastMemory = { job_id: msg.job_id, allocated_bytes: msg.allocated_bytes, reserved_bytes: msg.reserved_bytes, after_empty_cache: msg.after_empty_cache, at: Date.now() };
        this.opts.log.info({ jobId: msg.job_id, allocatedBytes: msg.allocated_bytes, reservedBytes: msg.reserved_bytes, afterEmptyCache: msg.after_empty_cache }, 'engine memory after the job');
        this.emit('memory', msg);
        break;
      case 'stats':
        this.noteRecompiles(msg.recompiles);
        for (const waiter of this.statsWaiters.splice(0)) waiter(msg);
        break;
    }
  }

  private onResult(result: EngineResult): void {
    this.report.lastPeakVramBytes = result.peak_vram_bytes;
    this.noteRecompiles(result.recompiles);
    this.opts.log.info(
      { jobId: result.job_id, preset: result.preset, seconds: result.seconds, peakVramBytes: result.peak_vram_bytes, gpuUtilMean: result.gpu_util_mean, recompiles: result.recompiles },
      'engine finished the job',
    );
    this.emit('result', result);
  }

  private noteRecompiles(recompiles: number): void {
    // Static preset shapes mean no recompile after warm-up: one costs over a minute on a big GPU.
    if (recompiles > this.report.recompiles) this.opts.log.warn({ recompiles }, 'engine recompiled a graph after warm-up (a shape outside the warmed presets?)');
    this.report.recompiles = recompiles;
  }

  private settle(job: InFlight, finish: () => void): void {
    clearTimeout(job.watchdog);
    this.inFlight = null;
    this.setState('idle');
    finish();
  }

  private failInFlight(err: Error): void {
    const job = this.inFlight;
    if (job) this.settle(job, () => job.reject(err));
  }

  private armWatchdog(job: InFlight): void {
    clearTimeout(job.watchdog);
    job.watchdog = setTimeout(() => {
      const seconds = Math.round(this.opts.stepTimeoutMs / 1000);
      this.opts.log.error({ jobId: job.jobId }, `engine silent for ${seconds} s: killing it`);
      this.failInFlight(new EngineDeadError(`engine hung (no progress for ${seconds} s); it was restarted`));
      if (this.child) this.killGroup(this.child);
    }, this.opts.stepTimeoutMs);
  }

  private send(req: EngineRequest): void {
    if (!this.child || !this.child.stdin.writable) throw new EngineDeadError('engine is not running');
    this.child.stdin.write(`${encodeRequest(req)}\n`);
  }

  /** Runs one job; progress arrives through `onProgress`; an aborted `signal` cancels between steps. */
  async generate(req: Omit<GenerateRequest, 'type'>, onProgress: ProgressCallback, signal?: AbortSignal): Promise<EngineResult> {
    await this.start();
    if (this.inFlight) throw new EngineBusyError(`engine busy with job ${this.inFlight.jobId}`);
    signal?.throwIfAborted();
    return new Promise<EngineResult>((resolve, reject) => {
      const job: InFlight = { jobId: req.job_id, resolve, reject, onProgress };
      this.inFlight = job;
      this.setState('generating');
      const onAbort = () => {
        try {
          this.send({ type: 'cancel', job_id: req.job_id });
        } catch {
          /* the engine is gone: its exit handler settles the job */
        }
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const cleanup = () => signal?.removeEventListener('abort', onAbort);
      job.resolve = (r) => {
        cleanup();
        resolve(r);
      };
      job.reject = (e) => {
        cleanup();
        reject(e);
      };
      this.armWatchdog(job);
      try {
        this.send({ type: 'generate', ...req });
      } catch (err) {
        this.settle(job, () => job.reject(err as Error));
      }
    });
  }

  /** Asks the engine for GPU figures; null when it does not answer within `timeoutMs`. */
  async stats(timeoutMs = 2000): Promise<EngineStats | null> {
    if (!this.child || !this.ready) return null;
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(null), timeoutMs);
      this.statsWaiters.push((s) => {
        clearTimeout(timer);
        resolve(s);
      });
      try {
        this.send({ type: 'stats' });
      } catch {
        resolve(null);
      }
    });
  }

  /** Test and operations hook: signals the engine process itself, as a crash or a freeze would. */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** Asks the engine to exit; kills its whole group (a CFG-parallel rank included) after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) {
      this.setState('stopped');
      this.emit('stopped');
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      this.send({ type: 'shutdown' });
      child.stdin.end();
    } catch {
      /* already closing */
    }
    const timer = setTimeout(() => this.killGroup(child), graceMs);
    await exited;
    clearTimeout(timer);
    this.setState('stopped');
    this.emit('stopped');
  }

  /** SIGKILL to the engine's process group (its pid: spawned detached), so that no rank of it outlives it. */
  private killGroup(child: ChildProcessWithoutNullStreams): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      child.kill('SIGKILL'); // the group is already gone, or this platform has none
    }
  }

  private setState(state: EngineState): void {
    this.state = state;
  }
}

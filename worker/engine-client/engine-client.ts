// Starts, talks to and supervises the long-lived Python engine process (one per GPU).
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createInterface } from 'node:readline';
import type { Logger } from 'pino';
import { EngineCancelledError, EngineDeadError, EngineGenerateError } from './engine-errors.ts';
import { type EngineReady, type EngineRequest, type EngineResult, type EngineStats, type GenerateRequest, parseEngineLine } from './engine-protocol.ts';

export type EngineState = 'stopped' | 'starting' | 'idle' | 'generating' | 'restarting';

export interface EngineClientOptions {
  python: string;
  /** Folder holding the cogcast_engine package. */
  engineDir: string;
  /** Environment for the engine (ENGINE_*, PRESETS_FILE, CUDA_VISIBLE_DEVICES...). */
  env: NodeJS.ProcessEnv;
  startTimeoutMs: number;
  /** A busy engine silent for this long is hung: it is killed and restarted. */
  stepTimeoutMs: number;
  log: Logger;
  /** Delay before restarting after a crash; doubles on repeated crashes, capped at 30 s. */
  restartDelayMs?: number;
}

interface InFlight {
  jobId: string;
  resolve: (r: EngineResult) => void;
  reject: (e: Error) => void;
  onProgress: (step: number, steps: number) => void;
  watchdog?: NodeJS.Timeout;
}

export class EngineClient extends EventEmitter {
  state: EngineState = 'stopped';
  restarts = 0;
  ready: EngineReady | null = null;
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
      env: { ...this.opts.env, PYTHONUNBUFFERED: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.ready = null;
    createInterface({ input: child.stderr }).on('line', (line) => {
      this.stderrTail = [...this.stderrTail.slice(-19), line];
      this.opts.log.warn({ engine: 'stderr' }, line);
    });
    return new Promise<EngineReady>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.opts.log.error('engine did not become ready in time; killing it');
        child.kill('SIGKILL');
        reject(new EngineDeadError(`engine not ready after ${Math.round(this.opts.startTimeoutMs / 1000)} s`));
      }, this.opts.startTimeoutMs);
      createInterface({ input: child.stdout }).on('line', (line) => {
        const msg = parseEngineLine(line);
        if (!msg) {
          this.opts.log.warn({ line: line.slice(0, 500) }, 'engine wrote a non-protocol line');
          return;
        }
        if (msg.type === 'ready') {
          clearTimeout(timer);
          this.ready = msg;
          this.consecutiveCrashes = 0;
          this.setState('idle');
          this.emit('ready', msg);
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
        const why = `engine exited (${signal ?? `code ${code}`})${this.stderrTail.length ? `: ${this.stderrTail.slice(-3).join(' | ')}` : ''}`;
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

  private onMessage(msg: Exclude<ReturnType<typeof parseEngineLine>, null>): void {
    const job = this.inFlight;
    switch (msg.type) {
      case 'progress':
        if (job && msg.job_id === job.jobId) {
          this.armWatchdog(job);
          job.onProgress(msg.step, msg.steps);
        }
        break;
      case 'result':
        if (job && msg.job_id === job.jobId) this.settle(job, () => job.resolve(msg));
        break;
      case 'cancelled':
        if (job && msg.job_id === job.jobId) this.settle(job, () => job.reject(new EngineCancelledError('cancelled')));
        break;
      case 'error':
        if (job && (msg.job_id === job.jobId || msg.job_id === null)) {
          this.settle(job, () => job.reject(new EngineGenerateError(msg.kind, msg.message)));
        } else {
          this.opts.log.warn({ kind: msg.kind }, `engine error: ${msg.message}`);
        }
        break;
      case 'stats':
        for (const waiter of this.statsWaiters.splice(0)) waiter(msg);
        this.emit('stats', msg);
        break;
      case 'memory':
        this.emit('memory', msg);
        break;
      case 'status':
        this.emit('status', msg); // loading, warming <preset>: the start-up summary shows them
        break;
      case 'ready':
        break;
    }
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
      this.child?.kill('SIGKILL');
    }, this.opts.stepTimeoutMs);
  }

  private send(req: EngineRequest): void {
    if (!this.child || !this.child.stdin.writable) throw new EngineDeadError('engine is not running');
    this.child.stdin.write(JSON.stringify(req) + '\n');
  }

  /** Runs one job; progress arrives through `onProgress`; an aborted `signal` cancels between steps. */
  async generate(req: Omit<GenerateRequest, 'type'>, onProgress: InFlight['onProgress'], signal?: AbortSignal): Promise<EngineResult> {
    await this.start();
    if (this.inFlight) throw new EngineGenerateError('bad_input', 'engine busy');
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

  /** Test and operations hook: kills the engine as a crash would (the supervisor restarts it). */
  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }

  /** Asks the engine to exit; kills it after `graceMs`. */
  async stop(graceMs = 10_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child) {
      this.setState('stopped');
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      this.send({ type: 'shutdown' });
      child.stdin.end();
    } catch {
      /* already closing */
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
    this.setState('stopped');
  }

  private setState(state: EngineState): void {
    this.state = state;
    this.emit('state', state);
  }
}

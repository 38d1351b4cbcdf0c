// The engine's failures as the worker sees them: recoverable per job, or the engine itself gone (vLLM's split).
import type { EngineErrorKind } from './engine-protocol.ts';

/** Base of every error the engine client throws: `instanceof EngineError` marks the engine boundary. */
export abstract class EngineError extends Error {
  /** Whether another attempt of the same job may succeed. */
  abstract readonly retryable: boolean;
}

/** The engine answered the job with an error and is still serving (vLLM's EngineGenerateError). */
export class EngineGenerateError extends EngineError {
  override name = 'EngineGenerateError';
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
  }
  /** bad_input (unknown preset, empty prompt) fails the same way every time. */
  get retryable(): boolean {
    return this.kind !== 'bad_input';
  }
}

/** The engine process died, hung or could not start; it is being restarted and the job may be retried. */
export class EngineDeadError extends EngineError {
  override name = 'EngineDeadError';
  readonly retryable = true;
}

/** A job was handed to an engine still running another (a worker bug, never the job's fault). */
export class EngineBusyError extends EngineError {
  override name = 'EngineBusyError';
  readonly retryable = true;
}

/** The job was cancelled between denoising steps. */
export class EngineCancelledError extends EngineError {
  override name = 'EngineCancelledError';
  readonly retryable = false;
}

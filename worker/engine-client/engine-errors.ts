// The engine's failures as the worker sees them: recoverable per job, or the engine itself gone.
import type { EngineErrorKind } from './engine-protocol.ts';

/** The engine answered the job with an error and is still serving (vLLM's EngineGenerateError). */
export class EngineGenerateError extends Error {
  override name = 'EngineGenerateError';
  constructor(
    readonly kind: EngineErrorKind,
    message: string,
  ) {
    super(message);
  }
}

/** The engine process died or hung; it is being restarted and the job may be retried. */
export class EngineDeadError extends Error {
  override name = 'EngineDeadError';
}

/** The job was cancelled between denoising steps. */
export class EngineCancelledError extends Error {
  override name = 'EngineCancelledError';
}

// The one interface every chat platform implements (grammY's frameworks.ts is the model: one documented
// interface, a small adapter object per platform). Inbound: platform events -> ChatContext -> commands/.
// Outbound: the job's status message, driven only by job events, and the delivery of the clip.
import type { Env } from '../../config/env.ts';
import type { Platform } from '../core/chat-context.ts';
import type { CommandServices } from '../core/command.ts';
import type { JobStats } from '../core/stats.ts';
import type { JobRequest } from '../queue/job-contract.ts';
import type { JobStatus } from '../queue/job-events.ts';

export interface DeliverableVideo {
  path: string;
  bytes: number;
  width: number;
  height: number;
  durationS: number;
  stats: JobStats;
  /** What this platform said when it last posted the same clip (e.g. a Telegram file_id): re-send, no upload. */
  previousReceipt?: Record<string, unknown>;
  /**
   * Set when an earlier attempt of this job died while posting this clip (claimed at `claimedAt`, never confirmed):
   * its post may have landed. A platform that can read back checks before posting; one that cannot marks the re-send.
   */
  earlierAttempt?: { claimedAt: number };
}

/** What one write of a status message came to. */
export type StatusWriteOutcome =
  | { kind: 'shown' }
  /** Not now (flood control, a 5xx); `holdOffMs` is how long the platform asked every writer in the chat to wait. */
  | { kind: 'retry'; holdOffMs?: number }
  /** The message can never be written again (deleted, bot removed, token dead): stop trying. */
  | { kind: 'gone' };

/** How a platform shows a job's status message. Its only caller is the StatusWriter (see status-writer.ts). */
export interface StatusSurface {
  /** Least time between two writes into one chat, in ms, across every process. */
  readonly paceMs: number;
  /** The chat the status message lives in (the pace is per chat), or null when this job has no status message. */
  paceKey(status: JobStatus): string | null;
  /** Told of every status that advanced, before pacing and coalescing (observers; tests count stages here). */
  heard?(status: JobStatus): void;
  /** Renders `status` in the platform's markup (Discord message, Telegram HTML) and writes it; never throws. */
  write(status: JobStatus): Promise<StatusWriteOutcome>;
}

/** Lets a delivery write the status message itself (Discord turns it into the video) as its one writer. */
export interface StatusSlot {
  exclusive<T>(jobId: string, write: () => Promise<T>): Promise<T>;
}

/** The outbound side of one platform: the worker and the bots reach it through PlatformOutbounds only. */
export interface PlatformOutbound {
  readonly platform: Platform;
  /** How the status message is shown, or null where there is none (the CLI follows QueueEvents in its terminal). */
  readonly status: StatusSurface | null;
  /** The largest clip this target takes; bigger ones go through fitToUploadLimit. */
  uploadLimitBytes(target: Record<string, unknown>): number;
  /** Posts the clip; resolves with what the platform returned (message id, file id...). Throws to retry the job. */
  deliver(job: JobRequest, jobId: string, video: DeliverableVideo, slot?: StatusSlot): Promise<Record<string, unknown>>;
  /**
   * Once the clip is posted and the upload timed: shows the upload time with the other stats on the posted message
   * (Telegram's caption, Discord's embed). Best effort: a refusal leaves the message as it was.
   */
  showUploadTime?(job: JobRequest, jobId: string, receipt: Record<string, unknown>, stats: JobStats, slot?: StatusSlot): Promise<void>;
}

export interface RunningInbound {
  platform: Platform;
  stop(): Promise<void>;
}

/** One platform, both sides: each of src/platforms/<p> exports one of these. */
export interface ChatPlatform {
  readonly name: Platform;
  /** Whether this deployment has the platform (its token is set). */
  configured(config: Env): boolean;
  /** The outbound side, built from configuration. */
  outbound(config: Env): PlatformOutbound;
  /** Starts receiving the platform's events; loaded lazily, so a worker never loads a bot. */
  startInbound(config: Env, services: CommandServices): Promise<RunningInbound>;
}

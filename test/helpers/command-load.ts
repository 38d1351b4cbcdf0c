// Many users' /video (Discord) and /gen (Telegram) requests fired through the command layer, each with its answer and timing.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { commands } from '../../commands/index.ts';
import { parseGenArguments } from '../../src/platforms/telegram/gen-arguments.ts';
import type { Platform, Reply } from '../../src/core/chat-context.ts';
import { type Command, type CommandServices, dispatch } from '../../src/core/command.ts';
import { recordingContext } from './recording-context.ts';

/** /gen as the Telegram bot runs it: the text is parsed inside dispatch, so a bad option is answered like bad input. */
const gen: Command<{ payload: string }> = {
  name: 'gen',
  description: commands.video.description,
  execute: (ctx, { payload }, services) => commands.video.execute(ctx, parseGenArguments(payload), services),
};

export interface LoadRequest {
  index: number;
  /** `${platform}:${id}`, the key quotas and rate limits count by. */
  userKey: string;
  platform: Extract<Platform, 'discord' | 'telegram'>;
  userId: string;
  /** Milliseconds after the start at which the request is sent (0 for a burst). */
  atMs: number;
}

export interface LoadOutcome extends LoadRequest {
  /** Every reply the user saw; the first one is the acknowledgement. */
  replies: Reply[];
  /** From sending the command to its first reply. */
  ackMs: number;
  /** The job id an accepted request got (its Cancel button carries it). */
  jobId: string | null;
}

/**
 * `requests` requests from `users` users, user i on Discord when i is even and Telegram when odd, sent round-robin
 * (so every user's requests overlap), all at once or at random times within `spreadMs`.
 */
export function loadPlan(users: number, requests: number, spreadMs = 0, random: () => number = Math.random): LoadRequest[] {
  const plan = Array.from({ length: requests }, (_, index): LoadRequest => {
    const user = index % users;
    const platform = user % 2 === 0 ? 'discord' : 'telegram';
    const userId = String(100_000 + user);
    return { index, userKey: `${platform}:${userId}`, platform, userId, atMs: spreadMs > 0 ? Math.floor(random() * spreadMs) : 0 };
  });
  return plan.sort((a, b) => a.atMs - b.atMs);
}

async function fire(services: CommandServices, request: LoadRequest): Promise<LoadOutcome> {
  const ctx = recordingContext({ id: request.userId, platform: request.platform });
  let ackAt: number | null = null;
  const record = ctx.reply.bind(ctx);
  ctx.reply = async (reply) => {
    ackAt ??= performance.now();
    await record(reply);
  };
  const started = performance.now();
  if (request.platform === 'discord') {
    await dispatch(commands.video, ctx, { prompt: `a lighthouse in a storm, take ${request.index}`, seed: request.index }, services);
  } else {
    await dispatch(gen, ctx, { payload: `a lighthouse in a storm, take ${request.index} | seed=${request.index}` }, services);
  }
  const accepted = ctx.replies[0]?.kind === 'accepted' ? ctx.replies[0] : undefined;
  return { ...request, replies: ctx.replies, ackMs: (ackAt ?? performance.now()) - started, jobId: accepted?.buttons?.find((b) => b.action === 'cancel')?.jobId ?? null };
}

/** Sends every request of `plan` at its time and resolves once every one has been answered. */
export async function runLoad(services: CommandServices, plan: LoadRequest[]): Promise<LoadOutcome[]> {
  const start = performance.now();
  const pending: Promise<LoadOutcome>[] = [];
  for (const request of plan) {
    const wait = request.atMs - (performance.now() - start);
    if (wait > 1) await sleep(wait);
    pending.push(fire(services, request));
  }
  return Promise.all(pending);
}

/** The p-th percentile (0..100) of `values`, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

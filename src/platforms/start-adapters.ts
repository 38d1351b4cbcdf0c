// Starts the inbound side of every chat platform whose token is configured; each returns a stop function.
import type { Env } from '../../config/env.ts';
import type { CommandServices } from '../core/command.ts';
import { CHAT_PLATFORMS } from './chat-platforms.ts';
import type { RunningInbound } from './platform.ts';

export type RunningAdapter = RunningInbound;

export async function startChatAdapters(config: Env, services: CommandServices): Promise<RunningInbound[]> {
  const running: RunningInbound[] = [];
  for (const platform of CHAT_PLATFORMS.filter((p) => p.configured(config))) running.push(await platform.startInbound(config, services));
  return running;
}

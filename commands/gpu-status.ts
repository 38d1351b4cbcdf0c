// /gpu status (admins only): every worker's GPU, engine and jobs, the queue and Redis, with health warnings.
import { z } from 'zod';
import type { Command } from '../src/core/command.ts';
import { fleetThresholds, renderFleetStatus } from '../src/core/fleet-status.ts';
import { text } from '../src/core/texts.ts';
import { readFleetSnapshot } from '../src/queue/fleet-readings.ts';

export const gpuStatusCommand = {
  name: 'gpu-status',
  description: text('command.gpu_status'),
  input: z.object({}),
  words: { discord: 'gpu status', telegram: 'gpu', cli: null },
  adminOnly: true,
  ack: 'private',
  async execute(ctx, _input, services) {
    const snapshot = await readFleetSnapshot(services.queue);
    const { PRIORITY_IDS, DISCORD_PRIORITY_ROLE_IDS, GPU_SECONDS_PER_DAY } = services.env;
    const tiers = `Tiers: priority = ${PRIORITY_IDS.length} ids, ${DISCORD_PRIORITY_ROLE_IDS.length} Discord roles · relax past ${GPU_SECONDS_PER_DAY > 0 ? `${Math.round(GPU_SECONDS_PER_DAY / 60)} GPU min a day per user` : 'never (no allowance)'}`;
    await ctx.reply({ kind: 'info', text: [renderFleetStatus(snapshot, fleetThresholds(services.env)), ...(snapshot.queue ? [tiers] : [])].join('\n'), private: true, confidential: true });
  },
} satisfies Command<Record<string, never>>;

export default gpuStatusCommand;

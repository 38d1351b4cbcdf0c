// /gpu status (admins only): every worker's GPU, engine and jobs, the queue and Redis, with health warnings.
import type { Command } from '../src/core/command.ts';
import { fleetThresholds, renderFleetStatus } from '../src/core/fleet-status.ts';
import { readFleetSnapshot } from '../src/queue/fleet-readings.ts';

export default {
  name: 'gpu-status',
  description: 'GPU workers, queue and Redis health (admins only)',
  adminOnly: true,
  async execute(ctx, _input, services) {
    const snapshot = await readFleetSnapshot(services.queue);
    await ctx.reply({ kind: 'info', text: renderFleetStatus(snapshot, fleetThresholds(services.env)), private: true });
  },
} satisfies Command<Record<string, never>>;

// bench/fleet-bench.ts only: the bot's command side (createCommandServices + the real /video dispatch) submitting
// the benchmark's jobs as fast as it is answered; prints one JSON line: what it accepted and what it cost.
import { commands } from '../../commands/index.ts';
import { env } from '../../config/env.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { waitUntilReady } from '../../src/queue/redis.ts';
import { recordingContext } from '../../test/helpers/recording-context.ts';

const plan = JSON.parse(process.env.FLEET_SUBMISSIONS ?? '[]') as string[]; // one user id per job, in order
const concurrency = Number(process.env.FLEET_BOT_CONCURRENCY ?? '4');
const services = createCommandServices(env());
await waitUntilReady(services.redis, 10_000);
const cpuBefore = process.cpuUsage();
const started = Date.now();
const answerMs: number[] = [];
let accepted = 0;
let refused = 0;
const refusals: Record<string, number> = {};
let next = 0;
async function lane(): Promise<void> {
  while (next < plan.length) {
    const i = next++;
    // A refused command (Redis slower than the bot's command timeout on a loaded machine) is tried again, as a
    // user would: counted, so the report says how often it happened.
    for (let attempt = 0; attempt < 30; attempt++) {
      const ctx = recordingContext({ id: plan[i]!, target: { platform: 'cli', target: {} } });
      const t0 = Date.now();
      await dispatch(commands.video, ctx, { prompt: `fleet benchmark clip ${i}`, seed: i + 1 }, services);
      answerMs.push(Date.now() - t0);
      if (ctx.replies[0]?.kind === 'accepted') {
        accepted++;
        break;
      }
      refused++;
      refusals[ctx.replies[0]?.text ?? 'no reply'] = (refusals[ctx.replies[0]?.text ?? 'no reply'] ?? 0) + 1;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}
await Promise.all(Array.from({ length: concurrency }, lane));
const cpu = process.cpuUsage(cpuBefore);
const usage = process.resourceUsage();
process.stdout.write(
  `${JSON.stringify({ accepted, refused, refusals, submitSeconds: (Date.now() - started) / 1000, cpuSeconds: (cpu.user + cpu.system) / 1e6, maxRssBytes: usage.maxRSS * 1024, answerMs })}\n`,
);
await services.close();
process.exit(0);

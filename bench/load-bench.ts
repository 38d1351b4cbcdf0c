// 1,000 /video and /gen requests from 200 users through the command layer on real Redis; prints JSON with the
// acknowledgement latency (command sent -> first reply: queue position or refusal), counts and wall time.
//
//   npm run bench:load                      # both scenarios: spread (random times within 10 s) and burst (all at once)
//   npx tsx bench/load-bench.ts --scenario spread --users 200 --requests 1000 --spread-ms 10000
//
// Uses REDIS_URL (default redis://127.0.0.1:6379) and a fresh `test-<uuid>` queue per scenario, deleted afterwards.
// Never run as a test: timings depend on the machine (the target is p99 under 200 ms on a 2-core host).
import { cpus } from 'node:os';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { createCommandServices } from '../src/app-services.ts';
import { configureLogs } from '../src/core/log.ts';
import { USER_MESSAGES, type UserErrorCode } from '../src/core/errors.ts';
import { type LoadOutcome, loadPlan, percentile, runLoad } from '../test/helpers/command-load.ts';
import { testConfig } from '../test/helpers/test-config.ts';

const TARGET_P99_MS = 200;

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '200' },
    requests: { type: 'string', default: '1000' },
    'spread-ms': { type: 'string', default: '10000' },
    scenario: { type: 'string', default: 'both' },
    'max-pending': { type: 'string', default: '3' },
  },
});
const users = Number(args.users);
const requests = Number(args.requests);
const spreadMs = Number(args['spread-ms']);
const maxPending = Number(args['max-pending']);
const scenarios = args.scenario === 'both' ? ['spread', 'burst'] : [args.scenario!];
for (const s of scenarios) if (s !== 'spread' && s !== 'burst') throw new Error(`--scenario must be spread, burst or both, not "${s}"`);

// Each user-facing message as a pattern, so a refusal's text tells which refusal it was.
const MESSAGE_PATTERNS = (Object.entries(USER_MESSAGES) as [UserErrorCode, string][]).map(([code, text]) => ({
  code,
  re: new RegExp(`^${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/\\\{\w+\\\}/g, '.*?')}$`),
}));
const codeOf = (text: string) => MESSAGE_PATTERNS.find((p) => p.re.test(text))?.code ?? 'unrecognised';

const round = (x: number) => Math.round(x * 10) / 10;

async function scenario(name: string) {
  const t = testConfig({
    LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
    QUOTA_MAX_PENDING_PER_USER: String(maxPending),
    QUOTA_MAX_JOBS_PER_HOUR: '1000',
    QUEUE_MAX_WAITING: '100000',
    RATE_LIMIT_PER_USER_PER_MINUTE: '1000',
    RATE_LIMIT_GLOBAL_PER_MINUTE: '1000000',
    ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL } : {}),
  });
  configureLogs(t.config);
  const services = createCommandServices(t.config);
  try {
    await services.queue.primary.queue.waitUntilReady();
    const plan = loadPlan(users, requests, name === 'spread' ? spreadMs : 0);
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const started = performance.now();
    const outcomes: LoadOutcome[] = await runLoad(services, plan);
    const wallMs = performance.now() - started;
    loop.disable();

    const accepted = outcomes.filter((o) => o.replies[0]?.kind === 'accepted');
    const refusedBy: Record<string, number> = {};
    for (const o of outcomes) if (o.replies[0]?.kind !== 'accepted') refusedBy[codeOf(o.replies[0]?.text ?? '')] = (refusedBy[codeOf(o.replies[0]?.text ?? '')] ?? 0) + 1;
    const ids = accepted.map((o) => o.jobId);
    const jobsInQueue = await services.queue.waitingCount();
    const ack = outcomes.map((o) => o.ackMs);
    const p99 = percentile(ack, 99);
    return {
      name,
      sentOverMs: name === 'spread' ? spreadMs : 0,
      wallMs: Math.round(wallMs),
      accepted: accepted.length,
      refused: outcomes.length - accepted.length,
      refusedBy,
      jobsInQueue,
      duplicateJobIds: ids.length - new Set(ids).size,
      ackMs: { p50: round(percentile(ack, 50)), p90: round(percentile(ack, 90)), p99: round(p99), max: round(Math.max(...ack)), mean: round(ack.reduce((a, b) => a + b, 0) / ack.length) },
      p99UnderTarget: p99 < TARGET_P99_MS,
      eventLoopDelayMs: { p99: round(loop.percentile(99) / 1e6), max: round(loop.max / 1e6) },
    };
  } finally {
    await services.close();
    await t.cleanup();
  }
}

const results = [];
for (const name of scenarios) results.push(await scenario(name));
process.stdout.write(
  `${JSON.stringify(
    {
      bench: 'load',
      at: new Date().toISOString(),
      host: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version },
      users,
      requests,
      quotaMaxPendingPerUser: maxPending,
      targetP99Ms: TARGET_P99_MS,
      scenarios: results,
    },
    null,
    2,
  )}\n`,
);

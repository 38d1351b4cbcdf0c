// Flood control across processes: two worker processes, each with its own Bot API client and status writer,
// post status edits into one Telegram chat at once; the fake Bot API sees no two edits to that chat closer than
// the pace, and every status message still ends on its final state.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { Telegram } from 'telegraf';
import { FakeTelegramServer } from '../fakes/telegram/fake-telegram-server.ts';
import type { PacingJob, PacingProcessInput } from '../helpers/status-pacing-process.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';

const PACE_MS = 300;
const ALICE = { id: 2001, username: 'alice', first_name: 'Alice' };

function spawnPacer(input: PacingProcessInput): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/helpers/status-pacing-process.ts')], {
    cwd: REPO_ROOT,
    env: { ...process.env, LOG_LEVEL: 'silent', PACING_INPUT: JSON.stringify(input) },
    stdio: ['pipe', 'pipe', 'inherit'],
  });
}

/** Resolves once the child has written the line `expected` (every line is kept, so none is missed). */
function saidLine(child: ChildProcess): (expected: string) => Promise<void> {
  const seen: string[] = [];
  const waiting: { expected: string; resolve: () => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    seen.push(line);
    for (const w of waiting.filter((w) => w.expected === line)) w.resolve();
  });
  return (expected) => (seen.includes(expected) ? Promise.resolve() : new Promise((resolve) => waiting.push({ expected, resolve })));
}

describe('status edits from several worker processes into one Telegram chat', () => {
  let server: FakeTelegramServer;
  let t: TestConfig;

  before(async () => {
    server = new FakeTelegramServer({ waitTimeoutMs: 60_000 });
    await server.start();
    t = testConfig();
  });
  after(async () => {
    await server.stop();
    await t.cleanup();
  });

  test(`two processes editing at once: no two edits to the chat closer than ${PACE_MS} ms, each message ends on its final state`, { timeout: 120_000 }, async () => {
    server.sendUserMessage({ from: ALICE, text: 'hello' }); // a chat must exist before the bot can write to it
    const bot = new Telegram(server.token, { apiRoot: server.apiRoot });
    const jobsFor = async (n: number): Promise<PacingJob[]> => {
      const jobs: PacingJob[] = [];
      for (let i = 0; i < n; i++) jobs.push({ jobId: randomUUID(), chatId: ALICE.id, statusMessageId: (await bot.sendMessage(ALICE.id, '⏳ Queued')).message_id });
      return jobs;
    };
    const groups = [await jobsFor(3), await jobsFor(3)];
    const from = server.calls.length;
    const base = { token: server.token, apiRoot: server.apiRoot, redisUrl: t.config.REDIS_URL, queueName: t.config.QUEUE_NAME, paceMs: PACE_MS, steps: 6 };
    const children = groups.map((jobs) => spawnPacer({ ...base, jobs }));
    const said = children.map(saidLine);
    try {
      await Promise.all(said.map((s) => s('ready')));
      for (const child of children) child.stdin!.write('go\n');
      await Promise.all(said.map((s) => s('finished')));
      await Promise.all(children.map((c) => (c.exitCode === null ? once(c, 'exit') : undefined)));
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill();
    }
    assert.deepEqual(children.map((c) => c.exitCode), [0, 0]);

    const edits = server.calls.slice(from).filter((c) => c.method === 'editMessageText' && Number(c.params.chat_id) === ALICE.id);
    const editedIds = new Set(edits.map((c) => Number(c.params.message_id)));
    for (const [i, jobs] of groups.entries()) assert.ok(jobs.some((j) => editedIds.has(j.statusMessageId)), `process ${i + 1} edited its status messages`);
    assert.ok(edits.every((c) => c.status === 200), JSON.stringify(edits.map((c) => c.status)));
    const gaps = edits.slice(1).map((c, i) => c.at - edits[i]!.at);
    assert.ok(gaps.every((gap) => gap >= PACE_MS), `edit gaps in ms: ${gaps.join(', ')}`);
    for (const job of groups.flat()) assert.match(server.message(ALICE.id, job.statusMessageId)?.text ?? '', /^✅ Done/, 'the final state landed');
  });
});

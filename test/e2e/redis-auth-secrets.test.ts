// A Redis password never reaches stderr (issue 13): the bot and a worker run against a private Redis as an ACL user
// whose password holds a `/`; the user is disabled and its connections killed, every reconnect's AUTH fails, and
// the processes log that through pino without ever printing the password.
import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { envFor } from '../helpers/worker-process.ts';
import { PrivateRedis } from '../helpers/redis-server.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';

const PASSWORD = 'acl-pa/ss:w0rd-never-shown';
const USER = 'cogcast-app';

interface Watched {
  child: ChildProcess;
  stdout: string;
  stderr: string;
}

function spawnProduct(entry: string, env: NodeJS.ProcessEnv): Watched {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry)], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const watched: Watched = { child, stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (watched.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (watched.stderr += d.toString()));
  return watched;
}

async function until(what: string, done: () => boolean, timeoutMs: number, diagnostics: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) assert.fail(`${what} within ${timeoutMs / 1000} s:\n${diagnostics().slice(-3000)}`);
    await sleep(200);
  }
}

describe('a disabled Redis ACL user', () => {
  let redis: PrivateRedis;
  let admin: Redis;
  let t: TestConfig;
  const running: Watched[] = [];

  before(async () => {
    redis = await PrivateRedis.start();
    admin = new Redis(redis.port, '127.0.0.1');
    await admin.call('ACL', 'SETUSER', USER, 'on', `>${PASSWORD}`, '~*', '&*', '+@all');
    t = testConfig({ REDIS_URL: `redis://${USER}:${encodeURIComponent(PASSWORD)}@127.0.0.1:${redis.port}` });
  });
  after(async () => {
    for (const { child } of running) if (child.exitCode === null) child.kill('SIGKILL');
    admin?.disconnect();
    await redis?.stop();
    // The private Redis (and the queue's keys with it) is gone: only the temp dirs are left to remove.
    if (t) rmSync(t.tmp, { recursive: true, force: true });
  });

  test('every reconnect fails AUTH, and neither the bot nor the worker prints the password', { timeout: 240_000 }, async () => {
    const env = envFor(t.config, { LOG_LEVEL: 'info' });
    const bot = spawnProduct('src/bin/start.ts', { ...env, COGCAST_ROLE: 'bot' });
    const worker = spawnProduct('src/bin/worker.ts', env);
    running.push(bot, worker);
    const both = () => `--- bot\n${bot.stdout}${bot.stderr}\n--- worker\n${worker.stdout}${worker.stderr}`;
    // The worker holds a BullMQ Worker, a Queue and its subscriber once its engine is warm; the bot a Queue and commands.
    await until('the worker takes jobs', () => worker.stderr.includes('worker taking jobs'), 180_000, both);
    await until('the bot serves', () => /\n {2}dashboard /.test(bot.stdout), 60_000, both);
    const clients = async () => ((await admin.call('CLIENT', 'LIST')) as string).split('\n').filter((l) => l.includes(`user=${USER}`)).length;
    assert.ok((await clients()) >= 4, 'both processes are connected as the ACL user');

    await admin.call('ACL', 'SETUSER', USER, 'off');
    await admin.call('CLIENT', 'KILL', 'USER', USER);
    await until('both processes report the refused AUTH', () => bot.stderr.includes('WRONGPASS') && worker.stderr.includes('WRONGPASS'), 60_000, both);
    await sleep(5000); // several reconnect rounds of every connection

    for (const [name, p] of [['bot', bot], ['worker', worker]] as const) {
      for (const shown of [PASSWORD, encodeURIComponent(PASSWORD), 'ss:w0rd-never-shown']) {
        assert.ok(!p.stderr.includes(shown), `the ${name}'s stderr shows the password (${shown}):\n${p.stderr.slice(-2000)}`);
        assert.ok(!p.stdout.includes(shown), `the ${name}'s stdout shows the password (${shown}):\n${p.stdout.slice(-2000)}`);
      }
      const lines = p.stderr.split('\n').filter((l) => l.trim());
      const notJson = lines.filter((l) => {
        try {
          JSON.parse(l);
          return false;
        } catch {
          return true;
        }
      });
      assert.deepEqual(notJson, [], `every line of the ${name} goes through pino`);
    }
    assert.equal(bot.child.exitCode, null, 'the bot keeps running through the outage');
    assert.equal(worker.child.exitCode, null, 'the worker keeps running through the outage');
  });

  test('a Redis password holding `/` is never printed in a configuration error', async () => {
    for (const url of [`redis://${USER}:${PASSWORD}@127.0.0.1:6379`, `http://:${PASSWORD}@127.0.0.1:6379`, `redis://:${PASSWORD}@`]) {
      const result = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src/bin/start.ts')], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, COGCAST_ROLE: 'bot', REDIS_URL: url },
      }).then(
        () => assert.fail(`${url} was accepted`),
        (err: { code: number; stderr: string }) => err,
      );
      assert.equal(result.code, 78);
      assert.match(result.stderr, /^cogcast: configuration error: REDIS_URL="[^"]*:\*\*\*@[^"]*" is invalid: .*percent-encode/);
      for (const part of [PASSWORD, 'ss:w0rd', 'w0rd-never-shown']) assert.ok(!result.stderr.includes(part), `${part} shown: ${result.stderr}`);
    }
  });
});

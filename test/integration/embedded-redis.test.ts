// The Redis `npm start` provides: what answers at the address, else (default address only) its own redis-server
// with AOF and noeviction; an operator's dead REDIS_URL is one line naming it without its password.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { logger } from '../../src/core/log.ts';
import { pingRedis, provideRedis, RedisUnavailableError } from '../../src/queue/embedded-redis.ts';
import { freePort } from '../helpers/fresh-clone.ts';

const log = logger('test');
const dataDir = mkdtempSync(join(tmpdir(), 'cogcast-redis-'));
after(() => rmSync(dataDir, { recursive: true, force: true }));

describe('provideRedis', () => {
  test('something answers at the default address: used as is, nothing started', async () => {
    const provided = await provideRedis({ url: 'redis://127.0.0.1:6379', operatorSet: false, dataDir, log });
    assert.deepEqual(provided, { url: 'redis://127.0.0.1:6379', embedded: null });
  });

  test('nothing answers at the default address: a local redis-server with AOF and noeviction, stopped on stop()', async () => {
    const port = await freePort();
    const url = `redis://127.0.0.1:${port}`;
    assert.notEqual(await pingRedis(url), null);
    const provided = await provideRedis({ url, operatorSet: false, dataDir, log });
    assert.ok(provided.embedded);
    const client = new Redis(url);
    try {
      assert.deepEqual(await client.config('GET', 'appendonly'), ['appendonly', 'yes']);
      assert.deepEqual(await client.config('GET', 'maxmemory-policy'), ['maxmemory-policy', 'noeviction']);
      assert.deepEqual(await client.config('GET', 'bind'), ['bind', '127.0.0.1']);
      await client.set('cogcast:test:kept', 'yes');
    } finally {
      client.disconnect();
    }
    assert.ok(existsSync(join(dataDir, `port-${port}`, 'appendonlydir')), 'AOF in var/redis/port-N');
    await provided.embedded.stop();
    assert.notEqual(await pingRedis(url), null, 'stopped');

    // Started again on the same folder: the AOF brings the data back.
    const again = await provideRedis({ url, operatorSet: false, dataDir, log });
    const reader = new Redis(url);
    try {
      assert.equal(await reader.get('cogcast:test:kept'), 'yes');
    } finally {
      reader.disconnect();
      await again.embedded?.stop();
    }
  });

  test("an operator's REDIS_URL that does not answer: one line naming it, password hidden; nothing started", async () => {
    const port = await freePort();
    const err = await provideRedis({ url: `redis://cogcast:hunter2-secret@127.0.0.1:${port}/0`, operatorSet: true, dataDir, log }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RedisUnavailableError);
    assert.equal(err.message, `cannot reach Redis at redis://cogcast:***@127.0.0.1:${port}/0 (REDIS_URL): connection refused. Start Redis there, fix REDIS_URL, or unset it to let npm start run a local one.`);
    assert.notEqual(await pingRedis(`redis://127.0.0.1:${port}`), null, 'no local server for an operator URL');
  });

  test('a wrong password is named as such', async () => {
    assert.match((await pingRedis('redis://nobody:wrong@127.0.0.1:6379')) ?? '', /authentication failed/);
  });

  test('redis-server not installed: one line saying how to install it', async () => {
    const port = await freePort();
    const err = await provideRedis({ url: `redis://127.0.0.1:${port}`, operatorSet: false, dataDir, log, binary: join(dataDir, 'no-redis-server') }).then(
      () => assert.fail('accepted'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof RedisUnavailableError);
    assert.match(err.message, /redis-server is not installed: install it \(Debian\/Ubuntu: sudo apt-get install redis-server\) or set REDIS_URL\.$/);
  });
});

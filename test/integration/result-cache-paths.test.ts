// Redis may be shared across hosts, so nothing in it is trusted as a path: a cached clip is found from its id under
// the results folder, and a path planted in the cache entry is never read, posted or removed.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Redis } from 'ioredis';
import { ResultCache, resultKey } from '../../worker/jobs/result-cache.ts';

const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
const root = mkdtempSync(join(tmpdir(), 'cogcast-cache-'));
const prefix = `cogcast-test-cache-${process.pid}`;
after(async () => {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
  await redis.quit();
  rmSync(root, { recursive: true, force: true });
});

test('a path planted in a cache entry is ignored: the clip is looked up, and removed, under the results folder only', async () => {
  const results = join(root, 'results');
  mkdirSync(results, { recursive: true });
  const secret = join(root, 'secret.txt');
  writeFileSync(secret, 'not a clip');
  const cache = new ResultCache(redis, prefix, 60, results);
  const id = resultKey('model', { preset: 'tiny', seed: 1, prompt: 'p', negativePrompt: '' });
  const stats = JSON.stringify({ preset: 'tiny' });
  await redis.hset(`${prefix}:result:${id}`, { path: secret, bytes: '10', stats });
  assert.equal(await cache.get(id), null, 'no clip under the results folder: nothing to reuse, whatever the entry says');
  await cache.forget(id);
  assert.ok(existsSync(secret), 'forget removed nothing outside the results folder');
  assert.throws(() => cache.pathOf('../../etc/passwd'), /not a result id/);
  assert.equal(cache.pathOf(id), join(results, `${id}.mp4`));
});

// JobImages on the real Redis: a job's PNG bytes round-trip unchanged under its id, expire, copy to a reroll with a
// fresh TTL, and are gone when removed. A prefix of our own per run; only our keys are deleted afterwards.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { JobImages } from '../../src/queue/job-images.ts';
import { cogcastKey } from '../../src/queue/redis.ts';

const TTL = 600;

describe('JobImages on Redis', () => {
  const prefix = cogcastKey(`test-${randomUUID()}`);
  let redis: Redis;
  let images: JobImages;

  before(async () => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    images = new JobImages(redis, prefix, TTL);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length > 0) await redis.del(...keys);
    await redis.quit();
  });

  test('save then load gives back the same bytes (binary-safe), under prefix:images:jobId with the TTL', async () => {
    const jobId = randomUUID();
    // Every byte value, NULs and invalid UTF-8 included: a PNG is not text.
    const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0xff, 0xfe]), randomBytes(64 * 1024)]);
    await images.save(jobId, png);
    assert.equal(images.key(jobId), `${prefix}:images:${jobId}`);
    const loaded = await images.load(jobId);
    assert.ok(loaded && loaded.equals(png), 'bytes unchanged');
    const ttl = await redis.ttl(images.key(jobId));
    assert.ok(ttl > TTL - 5 && ttl <= TTL, `ttl ${ttl}`);
  });

  test('a job without a picture, or one whose picture expired, loads as null', async () => {
    assert.equal(await images.load(randomUUID()), null);
    const jobId = randomUUID();
    await new JobImages(redis, prefix, 1).save(jobId, Buffer.from('png'));
    await redis.pexpire(images.key(jobId), 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await images.load(jobId), null);
  });

  test('copy gives a reroll its own picture with a fresh TTL; the original stays', async () => {
    const original = randomUUID();
    const reroll = randomUUID();
    const png = randomBytes(1024);
    await images.save(original, png);
    await redis.expire(images.key(original), 30); // most of its time spent
    assert.equal(await images.copy(original, reroll), true);
    assert.ok((await images.load(reroll))?.equals(png));
    assert.ok((await images.load(original))?.equals(png));
    const ttl = await redis.ttl(images.key(reroll));
    assert.ok(ttl > TTL - 5 && ttl <= TTL, `fresh ttl, got ${ttl}`);
    assert.ok((await redis.ttl(images.key(original))) <= 30, "the original's TTL is not extended");
  });

  test('copy from a picture that is gone is false and leaves nothing behind', async () => {
    const reroll = randomUUID();
    assert.equal(await images.copy(randomUUID(), reroll), false);
    assert.equal(await redis.exists(images.key(reroll)), 0);
  });

  test('remove deletes the picture; removing again is harmless', async () => {
    const jobId = randomUUID();
    await images.save(jobId, Buffer.from('png'));
    await images.remove(jobId);
    assert.equal(await images.load(jobId), null);
    await images.remove(jobId);
  });

  test('keys are named by our job ids only: anything else is refused before Redis sees it', async () => {
    for (const bad of ['', 'a:b', '../x', 'photo.png', 'x'.repeat(129), 'line\nbreak', '*']) {
      assert.throws(() => images.key(bad), RangeError, JSON.stringify(bad));
      await assert.rejects(images.save(bad, Buffer.from('png')), RangeError);
    }
    assert.throws(() => new JobImages(redis, prefix, 0), /ttlSeconds/);
    assert.throws(() => new JobImages(redis, '', TTL), /prefix/);
  });
});

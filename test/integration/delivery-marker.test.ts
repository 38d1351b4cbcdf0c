// The delivery claim lives as long as the BullMQ lock of the attempt that made it: on real Redis, with locks set
// and dropped by hand as a live, a dead and a taking-over worker would leave them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { DeliveryMarker, type JobLock } from '../../worker/jobs/delivery-marker.ts';

describe('delivery claims tied to the job lock', () => {
  const prefix = `cogcast:test-${randomUUID()}`;
  let redis: Redis;
  let marker: DeliveryMarker;

  before(() => {
    redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
    marker = new DeliveryMarker(redis, prefix);
  });
  after(async () => {
    const keys = await redis.keys(`${prefix}:*`);
    if (keys.length) await redis.del(...keys);
    redis.disconnect();
  });

  /** A worker holding the job's lock, as BullMQ keeps it: `<job key>:lock` = the worker's token. */
  async function holdLock(lockKey: string): Promise<JobLock> {
    const lock = { key: lockKey, token: randomUUID() };
    await redis.set(lock.key, lock.token, 'PX', 30_000);
    return lock;
  }

  test('a live attempt\'s claim keeps others out; once its worker is gone the next attempt takes it over at once', async () => {
    const requestId = randomUUID();
    const lockKey = `${prefix}:job-${requestId}:lock`;
    const first = await holdLock(lockKey);
    const claim = await marker.claim(requestId, first, 1_000);
    assert.deepEqual(claim.kind === 'claimed' && claim.earlier, null);

    // A second attempt while the first worker lives (a re-run on another worker): it must not post.
    const other = await holdLock(`${prefix}:job-${requestId}-rerun:lock`);
    assert.deepEqual(await marker.claim(requestId, other), { kind: 'busy' });

    // The first worker dies: BullMQ hands the job to another worker, whose token replaces the lock's value.
    const successor = await holdLock(lockKey);
    assert.deepEqual(await marker.abandonedClaim(requestId, successor), { claimedAt: 1_000 });
    const takeover = await marker.claim(requestId, successor);
    assert.equal(takeover.kind, 'claimed');
    assert.deepEqual(takeover.kind === 'claimed' && takeover.earlier, { claimedAt: 1_000 }, 'told the earlier attempt may have posted');

    await marker.confirm(requestId, { posted: true });
    assert.deepEqual(await marker.claim(requestId, other), { kind: 'delivered', record: { posted: true } });
    assert.equal(await marker.abandonedClaim(requestId, other), null, 'a confirmed delivery is no abandoned claim');
  });

  test('a claim whose lock simply expired is taken over too', async () => {
    const requestId = randomUUID();
    const lockKey = `${prefix}:job-${requestId}:lock`;
    const first = await holdLock(lockKey);
    await marker.claim(requestId, first, 2_000);
    await redis.del(lockKey);
    const next = await holdLock(lockKey);
    const claim = await marker.claim(requestId, next);
    assert.deepEqual(claim.kind === 'claimed' && claim.earlier, { claimedAt: 2_000 });
  });

  test('an attempt that lost its own lock may not claim, and its own live claim is no abandoned one', async () => {
    const requestId = randomUUID();
    const lockKey = `${prefix}:job-${requestId}:lock`;
    const mine = await holdLock(lockKey);
    assert.equal(await marker.abandonedClaim(requestId, mine), null, 'nothing claimed yet');
    await marker.claim(requestId, mine);
    assert.equal(await marker.abandonedClaim(requestId, mine), null, 'its own claim');
    await redis.set(lockKey, 'someone-else');
    assert.deepEqual(await marker.claim(requestId, mine), { kind: 'lost' });
  });

  test('abandon gives the claim back only to the attempt that made it', async () => {
    const requestId = randomUUID();
    const first = await holdLock(`${prefix}:job-${requestId}:lock`);
    const claim = await marker.claim(requestId, first);
    assert.equal(claim.kind, 'claimed');
    await marker.abandon(requestId, 'claim:not-this-one');
    assert.deepEqual(await marker.claim(requestId, await holdLock(`${prefix}:x-${requestId}:lock`)), { kind: 'busy' });
    await marker.abandon(requestId, claim.kind === 'claimed' ? claim.token : '');
    const again = await marker.claim(requestId, await holdLock(`${prefix}:y-${requestId}:lock`));
    assert.deepEqual(again.kind === 'claimed' && again.earlier, null, 'a given-back claim is no earlier attempt');
  });
});

// Exactly-once delivery on an at-least-once queue: a per-request marker claimed atomically before posting.
// A claim lives exactly as long as the BullMQ lock of the job that made it: once that worker is gone (its lock
// expired or another worker holds the job), the next attempt takes the claim over at once, and is told that the
// earlier attempt may have posted. Once delivered, the marker holds the job's result so a re-run returns it.
import type { Redis } from 'ioredis';

/** The BullMQ lock a claim is tied to: the job's lock key and the token of the worker holding it. */
export interface JobLock {
  key: string;
  token: string;
}

/** An earlier attempt's claim whose worker is gone before it confirmed: its post may or may not have landed. */
export interface EarlierClaim {
  /** Epoch ms at which that attempt claimed (began posting). */
  claimedAt: number;
}

export type Claim =
  | { kind: 'claimed'; token: string; earlier: EarlierClaim | null }
  | { kind: 'delivered'; record: Record<string, unknown> }
  /** Another attempt whose worker is alive (holds its lock) is posting right now. */
  | { kind: 'busy' }
  /** This attempt's own lock is gone (another worker has the job): it must not post. */
  | { kind: 'lost' };

// Long past any re-run of the job (its retries and a stalled takeover take minutes to hours), and bounded: one
// key per delivered job, gone a day later. Claims get the same bound: their life is their lock's, not a TTL.
const KEEP_DELIVERED_S = 24 * 3600;
const CLAIM_PREFIX = 'claim:';

interface ClaimValue {
  lock: string;
  token: string;
  at: number;
}

// KEYS: marker, our lock. ARGV: our lock token ('' when run without a BullMQ lock), our claim value, ttl ms.
// One script, so that checking the earlier holder's lock and taking its claim over cannot interleave with it.
const CLAIM = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[2]) ~= ARGV[1] then return {'lost', ''} end
local current = redis.call('GET', KEYS[1])
if not current then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  return {'claimed', ''}
end
if string.sub(current, 1, ${CLAIM_PREFIX.length}) ~= '${CLAIM_PREFIX}' then return {'delivered', current} end
local ok, earlier = pcall(cjson.decode, string.sub(current, ${CLAIM_PREFIX.length + 1}))
if ok and type(earlier) == 'table' and type(earlier.lock) == 'string' then
  if earlier.lock == KEYS[2] and earlier.token == ARGV[1] then return {'mine', current} end
  if redis.call('GET', earlier.lock) == earlier.token then return {'busy', ''} end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return {'taken_over', current}
`;

// Deletes the claim only if it is still ours, so a slow attempt never frees another attempt's claim.
const RELEASE_IF_OURS = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

function parseClaim(raw: string): ClaimValue | null {
  try {
    const value = JSON.parse(raw.slice(CLAIM_PREFIX.length)) as Partial<ClaimValue>;
    if (typeof value.lock === 'string' && typeof value.token === 'string' && typeof value.at === 'number') return value as ClaimValue;
  } catch {
    /* a claim written by an older version: treated as having no live holder */
  }
  return null;
}

export class DeliveryMarker {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  private key(requestId: string): string {
    return `${this.prefix}:delivered:${requestId}`;
  }

  /** What `confirm` stored when the request was delivered already, else null. */
  async delivered(requestId: string): Promise<Record<string, unknown> | null> {
    const raw = await this.redis.get(this.key(requestId));
    if (!raw || raw.startsWith(CLAIM_PREFIX)) return null;
    return JSON.parse(raw) as Record<string, unknown>;
  }

  /** An unconfirmed claim whose worker is gone (it died while posting), else null. */
  async abandonedClaim(requestId: string, ours: JobLock): Promise<EarlierClaim | null> {
    const raw = await this.redis.get(this.key(requestId));
    if (!raw?.startsWith(CLAIM_PREFIX)) return null;
    const claim = parseClaim(raw);
    if (!claim) return { claimedAt: 0 };
    if (claim.lock === ours.key && claim.token === ours.token) return null;
    const holder = await this.redis.get(claim.lock);
    return holder === claim.token ? null : { claimedAt: claim.at };
  }

  /** Claims the right to post, atomically: only one live attempt of a request can hold it at a time. */
  async claim(requestId: string, lock: JobLock, now = Date.now()): Promise<Claim> {
    const token = CLAIM_PREFIX + JSON.stringify({ lock: lock.key, token: lock.token, at: now } satisfies ClaimValue);
    const [verdict, detail] = (await this.redis.eval(CLAIM, 2, this.key(requestId), lock.key, lock.token, token, KEEP_DELIVERED_S * 1000)) as [string, string];
    switch (verdict) {
      case 'claimed':
        return { kind: 'claimed', token, earlier: null };
      case 'mine':
        return { kind: 'claimed', token: detail, earlier: null };
      case 'taken_over':
        return { kind: 'claimed', token, earlier: { claimedAt: parseClaim(detail)?.at ?? 0 } };
      case 'delivered':
        return { kind: 'delivered', record: JSON.parse(detail) as Record<string, unknown> };
      case 'busy':
        return { kind: 'busy' };
      default:
        return { kind: 'lost' };
    }
  }

  /** Posting succeeded: the marker stays (for a day) and holds `record` (the job's result). */
  async confirm(requestId: string, record: Record<string, unknown>): Promise<void> {
    await this.redis.set(this.key(requestId), JSON.stringify(record), 'EX', KEEP_DELIVERED_S);
  }

  /** Posting failed: give the claim back so a retry can post. */
  async abandon(requestId: string, token: string): Promise<void> {
    await this.redis.eval(RELEASE_IF_OURS, 1, this.key(requestId), token);
  }
}

/** The lock BullMQ holds on `jobId` while a worker runs it (`bull:<queue>:<id>:lock`), with that worker's token. */
export function jobLock(queueKeyOfJob: string, token: string | undefined): JobLock {
  return { key: `${queueKeyOfJob}:lock`, token: token ?? '' };
}

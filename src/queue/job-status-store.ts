// The job status record in Redis, advanced by an ordered compare-and-set: (attempt, stage rank, step) must grow,
// and a final stage is never replaced, so a late or out-of-order event from any process never moves it backwards.
import type { Redis } from 'ioredis';
import { type JobStatus, eventStep, isTerminal, jobStatusSchema, STAGE_RANK } from './job-events.ts';

/** Long enough for any job, queue wait and retries included; short enough that Redis stays bounded. */
const RECORD_TTL_MS = 24 * 3_600_000;

// KEYS[1] record. ARGV: record json, attempt, rank, step, terminal (1/0), ttl ms.
const ADVANCE = `
local cur = redis.call('HMGET', KEYS[1], 'attempt', 'rank', 'step', 'terminal', 'version')
if cur[1] then
  if cur[4] == '1' then return 0 end
  if ARGV[5] ~= '1' then
    local a, r, s = tonumber(cur[1]), tonumber(cur[2]), tonumber(cur[3])
    local na, nr, ns = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
    if na < a or (na == a and (nr < r or (nr == r and ns <= s))) then return 0 end
  end
end
local version = tonumber(cur[5] or '0') + 1
redis.call('HSET', KEYS[1], 'attempt', ARGV[2], 'rank', ARGV[3], 'step', ARGV[4], 'terminal', ARGV[5], 'version', version, 'record', ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return version
`;

// KEYS[1] record. ARGV: version shown. Returns 1 when this version is news (nobody showed it or a later one).
const MARK_SHOWN = `
local shown = tonumber(redis.call('HGET', KEYS[1], 'shown') or '0')
if tonumber(ARGV[1]) <= shown then return 0 end
redis.call('HSET', KEYS[1], 'shown', ARGV[1])
return 1
`;

export class JobStatusStore {
  constructor(
    private readonly redis: Redis,
    /** The queue's key prefix (`cogcast:<queue>`), so parallel test queues never share records. */
    private readonly prefix: string,
  ) {}

  private key(jobId: string): string {
    return `${this.prefix}:status:${jobId}`;
  }

  /** Stores the status when it is later news than the record; returns it with its version, else null. */
  async advance(status: Omit<JobStatus, 'version'>): Promise<JobStatus | null> {
    const { event } = status;
    const version = (await this.redis.eval(
      ADVANCE,
      1,
      this.key(status.jobId),
      JSON.stringify(status),
      status.attempt,
      STAGE_RANK[event.stage],
      eventStep(event),
      isTerminal(event.stage) ? '1' : '0',
      RECORD_TTL_MS,
    )) as number;
    return version > 0 ? { ...status, version } : null;
  }

  /** The latest status of `jobId`, or null when none was recorded (or it expired). */
  async get(jobId: string): Promise<JobStatus | null> {
    const [record, version] = await this.redis.hmget(this.key(jobId), 'record', 'version');
    if (!record || !version) return null;
    const parsed = jobStatusSchema.safeParse({ ...JSON.parse(record), version: Number(version) });
    return parsed.success ? parsed.data : null;
  }

  /**
   * Claims the showing of `version`: true for the first writer (of any process) to claim it or anything later,
   * so two processes that both heard of a status do not both edit the message for it.
   */
  async claimShown(jobId: string, version: number): Promise<boolean> {
    return ((await this.redis.eval(MARK_SHOWN, 1, this.key(jobId), version)) as number) === 1;
  }
}

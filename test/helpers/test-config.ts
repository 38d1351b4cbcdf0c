// Test configuration: a fresh queue name per test, the tiny presets and model, temp dirs; and cleanup.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { type Env, parseEnv } from '../../config/env.ts';

export const REPO_ROOT = resolve(import.meta.dirname, '../..');
export const TINY_PRESETS = join(REPO_ROOT, 'test/fixtures/presets.tiny.json');
export const TINY_MODEL = process.env.COGCAST_TINY_MODEL ?? join(REPO_ROOT, 'var/fixtures/tiny-cogvideox');
/** The tiny image-to-video pipeline (CogVideoXImageToVideoPipeline: reads as cogvideox-5b-i2v), built by npm test. */
export const TINY_I2V_MODEL = process.env.COGCAST_TINY_I2V_MODEL ?? join(REPO_ROOT, 'var/fixtures/tiny-cogvideox-i2v');
/** Presets of both tiny models (tiny: text, tiny-animate: a photo). */
export const TINY_FLEET_PRESETS = join(REPO_ROOT, 'test/fixtures/presets.tiny-fleet.json');

export interface TestConfig {
  config: Env;
  tmp: string;
  cleanup(): Promise<void>;
}

/** A config for one test: its own queue (`test-<uuid>`) and temp dirs; cleanup deletes both. */
export function testConfig(overrides: Record<string, string> = {}): TestConfig {
  const tmp = mkdtempSync(join(tmpdir(), 'cogcast-test-'));
  const queueName = `test-${randomUUID()}`;
  const config = parseEnv({
    QUEUE_NAME: queueName,
    PRESETS_FILE: TINY_PRESETS,
    ENGINE_MODEL: TINY_MODEL,
    ENGINE_PYTHON: join(REPO_ROOT, '.venv/bin/python'),
    ENGINE_DEVICE: 'cpu',
    ENGINE_WARMUP: '0',
    WORK_DIR: join(tmp, 'work'),
    OUTPUT_DIR: join(tmp, 'videos'),
    JOB_BACKOFF_MS: '200',
    ENGINE_START_TIMEOUT_S: '120',
    // Tests run many processes at once: no fixed metrics ports (a test asks for port 0 where it scrapes).
    METRICS_PORT: '0',
    WORKER_METRICS_PORT: '0',
    WEB_PORT: '0',
    OPS_HOST: '127.0.0.1',
    ...overrides,
  });
  return {
    config,
    tmp,
    async cleanup() {
      await deleteQueueKeys(config.REDIS_URL, queueName);
      rmSync(tmp, { recursive: true, force: true });
    },
  };
}

/** Removes every BullMQ and cogcast key of a test queue. */
export async function deleteQueueKeys(url: string, queueName: string): Promise<void> {
  const redis = new Redis(url);
  try {
    // `bull:<queue>*`: the first model's lane and the other models' lanes beside it (`<queue>-<model>`).
    for (const pattern of [`bull:${queueName}*`, `cogcast:${queueName}:*`]) {
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
        cursor = next;
        if (keys.length > 0) await redis.del(...keys);
      } while (cursor !== '0');
    }
  } finally {
    redis.disconnect();
  }
}

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { ENV_REGISTRY, parseEnv } from '../../config/env.ts';
import { REPO_ROOT } from '../helpers/test-config.ts';

describe('configuration', () => {
  test('every variable has a default that parses', () => {
    const config = parseEnv({});
    assert.equal(config.REDIS_URL, 'redis://127.0.0.1:6379');
    assert.equal(config.QUOTA_MAX_PENDING_PER_USER, 2);
    assert.equal(config.ENGINE_WARMUP, true);
  });

  test('a bad value is one line naming the variable and what it expects', () => {
    assert.throws(() => parseEnv({ QUOTA_MAX_JOBS_PER_HOUR: 'lots' }), /^ConfigError: QUOTA_MAX_JOBS_PER_HOUR="lots" is invalid/);
    assert.throws(() => parseEnv({ REDIS_URL: 'http://x' }), /REDIS_URL/);
    assert.throws(() => parseEnv({ ENGINE_DEVICE: 'tpu' }), /ENGINE_DEVICE="tpu"/);
  });

  test('README documents every environment variable with its default', () => {
    const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
    for (const [name, spec] of Object.entries(ENV_REGISTRY)) {
      const row = readme.split('\n').find((line) => line.startsWith(`| \`${name}\``));
      assert.ok(row, `README lacks a row for ${name}`);
      assert.ok(row.includes(spec.default === '' ? '(empty)' : `\`${spec.default}\``), `README's default for ${name} is not ${spec.default}`);
    }
  });
});

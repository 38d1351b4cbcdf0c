// docker-compose.yml cannot run here (no Docker engine), so its promises are checked as data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/test-config.ts';

interface Service {
  command?: string[];
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
  restart?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { resources: { reservations: { devices: { driver: string; capabilities: string[]; device_ids?: string[] }[] } } };
}
const compose = parse(readFileSync(join(REPO_ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const workers = Object.entries(services).filter(([name]) => name.startsWith('worker'));

describe('docker-compose.yml', () => {
  test('Redis persists with AOF, never evicts, and has a healthcheck and a data volume', () => {
    const redis = services.redis!;
    const cmd = redis.command!.join(' ');
    assert.match(cmd, /--appendonly yes/);
    assert.match(cmd, /--maxmemory-policy noeviction/);
    assert.ok(redis.volumes?.some((v) => v.endsWith(':/data')));
    assert.ok(redis.healthcheck);
  });

  test('every GPU worker reserves its own NVIDIA GPU, caches models and compiled graphs, and waits for Redis', () => {
    assert.ok(workers.length >= 2);
    const ids = new Set<string>();
    for (const [name, w] of workers) {
      const device = w.deploy?.resources.reservations.devices[0];
      assert.equal(device?.driver, 'nvidia', name);
      assert.deepEqual(device?.capabilities, ['gpu'], name);
      for (const id of device?.device_ids ?? []) ids.add(id);
      assert.equal(w.environment?.COGCAST_ROLE, 'worker');
      assert.ok(w.volumes?.some((v) => v.endsWith(':/models')), `${name} has a model cache volume`);
      assert.ok(w.volumes?.some((v) => v.includes('compile')), `${name} keeps its compile cache`);
      assert.equal(w.depends_on?.redis?.condition, 'service_healthy');
    }
    assert.equal(ids.size, workers.length, 'no two workers share a GPU');
  });

  test('every long-running service restarts on failure and has a healthcheck', () => {
    for (const [name, s] of Object.entries(services)) {
      assert.equal(s.restart, 'unless-stopped', name);
      assert.ok(s.healthcheck?.test.length, `${name} has a healthcheck`);
    }
    assert.equal(services.bot?.environment?.COGCAST_ROLE, 'bot');
  });
});

// docker-compose.yml cannot run here (no Docker engine), so its promises are checked as data.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse } from 'yaml';
import { REPO_ROOT } from '../helpers/test-config.ts';

interface Service {
  command?: string[];
  init?: boolean;
  ports?: string[];
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

  test('every cogcast service runs under an init (signals reach node, zombies are reaped)', () => {
    for (const [name, s] of Object.entries(services)) if (name !== 'redis') assert.equal(s.init, true, name);
  });

  test('published ports are bound to the host\'s loopback only', () => {
    for (const [name, s] of Object.entries(services)) {
      for (const port of s.ports ?? []) assert.match(port, /^127\.0\.0\.1:\d+:\d+$/, `${name} publishes ${port} beyond localhost`);
    }
    assert.deepEqual(services.bot?.ports, ['127.0.0.1:9464:9464'], 'one ops port: /healthz, /metrics and /dashboard/');
  });
});

describe('Dockerfiles', () => {
  for (const file of ['Dockerfile', 'Dockerfile.worker']) {
    const text = readFileSync(join(REPO_ROOT, file), 'utf8');
    const instructions = text.split('\n').filter((l) => /^[A-Z]+\s/.test(l));

    test(`${file} runs as a non-root user, with tini as PID 1 and node itself (exec form) as the command`, () => {
      const users = instructions.filter((l) => l.startsWith('USER '));
      assert.ok(users.length > 0, 'a USER instruction');
      const last = users.at(-1)!.slice(5).trim();
      assert.ok(!['root', '0', '0:0'].includes(last), `runs as ${last}`);
      // Nothing after the last USER switches back to root.
      const lastBuildStep = Math.max(...instructions.map((l, i) => (l.startsWith('RUN ') || l.startsWith('COPY ') ? i : -1)));
      assert.ok(instructions.lastIndexOf(users.at(-1)!) > lastBuildStep, 'USER comes after every RUN and COPY');
      assert.match(instructions.find((l) => l.startsWith('ENTRYPOINT '))!, /^ENTRYPOINT \["\/usr\/bin\/tini", "--"\]$/);
      assert.match(instructions.find((l) => l.startsWith('CMD '))!, /^CMD \["node", /);
    });
  }
});

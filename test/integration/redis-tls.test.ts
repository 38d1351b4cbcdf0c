// rediss:// with a private CA (issue 13): REDIS_TLS_CA_FILE makes the command layer and BullMQ trust the server's
// certificate; without it the connection is refused, and a missing file is a configuration error.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ConfigError, parseEnv } from '../../config/env.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { commandConnection, waitUntilReady, workerConnection } from '../../src/queue/redis.ts';
import { freePort, PrivateRedis } from '../helpers/redis-server.ts';
import { TINY_PRESETS } from '../helpers/test-config.ts';

/** A throw-away CA and a server certificate it signed for 127.0.0.1. */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const at = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: 'pipe' });
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=cogcast test CA');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('server.key'), '-out', at('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(at('san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  openssl('x509', '-req', '-in', at('server.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial', '-out', at('server.crt'), '-days', '2', '-extfile', at('san.cnf'));
  return { ca: at('ca.crt'), cert: at('server.crt'), key: at('server.key') };
}

describe('Redis over TLS', () => {
  let dir: string;
  let redis: PrivateRedis;
  let url: string;
  let ca: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cogcast-tls-'));
    const certs = makeCertificates(dir);
    ca = certs.ca;
    const tlsPort = await freePort();
    redis = await PrivateRedis.start(['--port', '0', '--tls-port', String(tlsPort), '--tls-cert-file', certs.cert, '--tls-key-file', certs.key, '--tls-ca-cert-file', certs.ca, '--tls-auth-clients', 'no']);
    url = `rediss://127.0.0.1:${tlsPort}`;
  });
  after(async () => {
    await redis?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('with REDIS_TLS_CA_FILE the commands, a BullMQ queue and QueueEvents all connect', async () => {
    const config = parseEnv({ REDIS_URL: url, REDIS_TLS_CA_FILE: ca, PRESETS_FILE: TINY_PRESETS, QUEUE_NAME: 'tls-test' });
    const services = createCommandServices(config);
    const events = new OwnedQueueEvents(config.QUEUE_NAME, config);
    const blocking = workerConnection(config);
    try {
      await waitUntilReady(services.redis, 5000); // commands fail fast until then (no offline queue)
      assert.equal(await services.redis.ping(), 'PONG');
      assert.deepEqual(await services.queue.counts(), { waiting: 0, active: 0, delayed: 0, failed: 0, completed: 0 });
      await events.waitUntilReady();
      await waitUntilReady(blocking, 5000);
      assert.equal(await blocking.ping(), 'PONG');
    } finally {
      await events.close();
      blocking.disconnect();
      await services.close();
    }
  });

  test('without the CA the server is not trusted: no connection', async () => {
    const config = parseEnv({ REDIS_URL: url });
    const redis = commandConnection(config, { retryStrategy: () => null });
    try {
      await assert.rejects(waitUntilReady(redis, 3000));
      assert.notEqual(redis.status, 'ready');
    } finally {
      redis.disconnect();
    }
  });

  test('a REDIS_TLS_CA_FILE that cannot be read is a configuration error naming it', () => {
    assert.throws(() => parseEnv({ REDIS_URL: url, REDIS_TLS_CA_FILE: join(dir, 'missing.pem') }), (err: Error) => err instanceof ConfigError && /^REDIS_TLS_CA_FILE=".*missing\.pem" is invalid: a readable file/.test(err.message));
  });
});

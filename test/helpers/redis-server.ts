// A private redis-server for tests that break Redis on purpose (ACL users, TLS): its own port, never the shared one.
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

export class PrivateRedis {
  private child: ChildProcess | null = null;
  log = '';

  private constructor(readonly port: number) {}

  /** Starts redis-server without persistence on a free port; `args` are added (e.g. TLS settings). */
  static async start(args: string[] = [], port?: number): Promise<PrivateRedis> {
    const redis = new PrivateRedis(port ?? (await freePort()));
    const child = spawn('redis-server', ['--port', String(redis.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    redis.child = child;
    const ready = new Promise<void>((resolve, reject) => {
      const onData = (d: Buffer) => {
        redis.log += d.toString();
        if (redis.log.includes('Ready to accept connections')) resolve();
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code, signal) => reject(new Error(`redis-server exited (${code ?? signal}) before it was ready:\n${redis.log}`)));
    });
    await Promise.race([ready, sleep(15_000).then(() => Promise.reject(new Error(`redis-server not ready in 15 s:\n${redis.log}`)))]);
    return redis;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
}

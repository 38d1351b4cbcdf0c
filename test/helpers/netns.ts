// Hosts on one machine: Linux network namespaces joined to a Redis namespace by veth pairs (iproute2, root),
// whose links a test can cut and restore, or make slow and lossy, like a real network between hosts.
import { type ChildProcess, execFileSync, spawn, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';

const LOSSY_LINK = join(import.meta.dirname, 'lossy-link.py');

function run(args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be used here, or null when they can (root, iproute2, `ip netns add` allowed). */
export function netnsUnavailable(): string | null {
  if (process.platform !== 'linux') return 'network namespaces are Linux only';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  const probe = `cgprobe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'iproute2 (`ip`) is not installed';
  }
  try {
    run(['netns', 'add', probe]);
    run(['netns', 'del', probe]);
  } catch (err) {
    return `\`ip netns add\` is not allowed here (${(err as Error).message.split('\n')[0]})`;
  }
  return null;
}

/** Why a TUN device (for the user-space lossy link) cannot be made here, or null when it can. */
export function tunUnavailable(): string | null {
  const why = netnsUnavailable();
  if (why) return why;
  const dev = `cgprobe${randomBytes(3).toString('hex')}`;
  try {
    execFileSync('python3', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'python3 is not installed (the user-space lossy link needs it)';
  }
  try {
    run(['tuntap', 'add', 'mode', 'tun', 'name', dev]);
    run(['link', 'del', dev]);
    return null;
  } catch {
    return 'no TUN devices here (/dev/net/tun)';
  }
}

export interface Host {
  /** Namespace name; null for the test's own (root) namespace. */
  ns: string | null;
  /** Redis as this host reaches it over its own link. */
  redisUrl: string;
  /** The link's two ends: inside this host, and inside the Redis namespace. */
  hostIf: string;
  redisIf: string;
}

/**
 * One Redis namespace and any number of hosts, each with its own point-to-point link to it (10.x.n.0/30). The
 * test process itself can be given a link too (`addHost('obs', { inRoot: true })`) to watch without a namespace.
 */
export class NetLab {
  readonly id = randomBytes(2).toString('hex');
  readonly redisNs = `cg${this.id}redis`;
  private readonly namespaces: string[] = [];
  private readonly hosts = new Map<string, Host>();
  private readonly octet = 200 + (parseInt(this.id, 16) % 50);
  private redis: ChildProcess | null = null;
  private readonly links: ChildProcess[] = [];
  private nextLink = 1;

  constructor(readonly redisPort: number) {}

  create(): void {
    run(['netns', 'add', this.redisNs]);
    this.namespaces.push(this.redisNs);
    run(['-n', this.redisNs, 'link', 'set', 'lo', 'up']);
  }

  /** A host named `name` (a new namespace, or the root one) with its own link to Redis. */
  addHost(name: string, opts: { inRoot?: boolean } = {}): Host {
    const n = this.nextLink++;
    const ns = opts.inRoot ? null : `cg${this.id}${name}`;
    const hostIf = `cg${this.id}h${n}`;
    const redisIf = `cg${this.id}r${n}`;
    if (ns) {
      run(['netns', 'add', ns]);
      this.namespaces.push(ns);
      run(['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    run(['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', redisIf]);
    run(['link', 'set', redisIf, 'netns', this.redisNs]);
    if (ns) run(['link', 'set', hostIf, 'netns', ns]);
    const inHost = ns ? ['-n', ns] : [];
    const net = `10.${this.octet}.${n}`;
    run([...inHost, 'addr', 'add', `${net}.2/30`, 'dev', hostIf]);
    run([...inHost, 'link', 'set', hostIf, 'up']);
    run(['-n', this.redisNs, 'addr', 'add', `${net}.1/30`, 'dev', redisIf]);
    run(['-n', this.redisNs, 'link', 'set', redisIf, 'up']);
    const host: Host = { ns, redisUrl: `redis://${net}.1:${this.redisPort}`, hostIf, redisIf };
    this.hosts.set(name, host);
    return host;
  }

  /**
   * A host whose link to Redis delays every packet by `delayMs` and drops `loss` of them, in both directions: the
   * user-space link of lossy-link.py (TUN devices), for kernels without netem.
   */
  async addLossyHost(name: string, opts: { delayMs: number; loss: number }): Promise<Host> {
    const n = this.nextLink++;
    const ns = `cg${this.id}${name}`;
    const hostIf = `cg${this.id}t${n}`;
    const redisIf = `cg${this.id}u${n}`;
    run(['netns', 'add', ns]);
    this.namespaces.push(ns);
    run(['-n', ns, 'link', 'set', 'lo', 'up']);
    const net = `10.${this.octet}.${n}`;
    const child = spawn('python3', [LOSSY_LINK, '--a', `${ns}:${hostIf}:${net}.2/30`, '--b', `${this.redisNs}:${redisIf}:${net}.1/30`, '--delay-ms', String(opts.delayMs), '--loss', String(opts.loss)], {
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.links.push(child);
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`lossy link not up in 10 s: ${out}`)), 10_000);
      const onData = (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`lossy link exited (${code}): ${out}`));
      });
    });
    const host: Host = { ns, redisUrl: `redis://${net}.1:${this.redisPort}`, hostIf, redisIf };
    this.hosts.set(name, host);
    return host;
  }

  host(name: string): Host {
    const host = this.hosts.get(name);
    if (!host) throw new Error(`no host "${name}"`);
    return host;
  }

  /** Starts this lab's own redis-server inside the Redis namespace (no persistence); resolves once it is ready. */
  async startRedis(): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', this.redisNs, 'redis-server', '--port', String(this.redisPort), '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.redis = child;
    let log = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server not ready in 15 s:\n${log}`)), 15_000);
      const onData = (d: Buffer) => {
        log += d.toString();
        if (log.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}):\n${log}`));
      });
    });
  }

  /** Runs `command` inside the host's namespace (its only way to Redis is its own link). */
  spawnIn(name: string, command: string, args: string[], options: SpawnOptions): ChildProcess {
    const { ns } = this.host(name);
    return ns ? spawn('ip', ['netns', 'exec', ns, command, ...args], options) : spawn(command, args, options);
  }

  /** Takes the host's link down at the Redis end: packets vanish silently both ways, as when a cable is pulled. */
  cut(name: string): void {
    run(['-n', this.redisNs, 'link', 'set', this.host(name).redisIf, 'down']);
  }

  restore(name: string): void {
    run(['-n', this.redisNs, 'link', 'set', this.host(name).redisIf, 'up']);
  }

  /** Stops Redis and removes every namespace and link this lab made (deleting a namespace deletes its veths). */
  async destroy(): Promise<void> {
    for (const link of this.links) link.stdin?.end();
    const redis = this.redis;
    if (redis && redis.exitCode === null && redis.signalCode === null) {
      const exited = new Promise((r) => redis.once('exit', r));
      redis.kill('SIGKILL');
      await exited;
    }
    for (const host of this.hosts.values()) {
      if (host.ns) continue;
      try {
        run(['link', 'del', host.hostIf]);
      } catch {
        /* went with the Redis namespace */
      }
    }
    for (const ns of this.namespaces.reverse()) {
      try {
        run(['netns', 'del', ns]);
      } catch {
        /* already gone */
      }
    }
  }
}

// `npm start`: runs the chat bots, one GPU worker, or both (COGCAST_ROLE) on what this machine has (a local Redis,
// the demo model where there are no weights), says what it runs in a summary, and stops in order on SIGTERM.
// Only what the first checks need is imported up front: a wrong ENGINE_MODEL or web setting is reported in
// seconds, before the platform libraries (discord.js, telegraf, BullMQ, express) load.
import { resolve } from 'node:path';
import { type Env, env, isSetByOperator } from '../../config/env.ts';
import { loadPresets } from '../../config/presets.ts';
import { PROJECT_ROOT } from '../../worker/engine-client/engine-settings.ts';
import { ModelUnavailableError, type ResolvedModel, resolveEngineModel } from '../../worker/engine-client/model-resolution.ts';
import type { RunningWorker } from '../../worker/video-worker.ts';
import type { createCommandServices } from '../app-services.ts';
import { configureLogs, logger } from '../core/log.ts';
import { text } from '../core/texts.ts';
import type { RunningOps } from '../ops/process-ops.ts';
import type { RunningAdapter } from '../platforms/start-adapters.ts';
import { checkWebSettings, WebConfigError } from '../platforms/web/web-access.ts';
import type { ProvidedRedis } from '../queue/embedded-redis.ts';
import { exitOnSignals } from './exit-on-signals.ts';
import { chatPlatformLine, followEngineStart, type PlatformLine, StartupReport } from './startup-summary.ts';

const log = logger('main');
let config: Env = env();
configureLogs(config);
const report = new StartupReport(log);
let adapters: RunningAdapter[] = [];
let worker: RunningWorker | null = null;
let services: ReturnType<typeof createCommandServices> | null = null;
let ops: RunningOps | null = null;
let redis: ProvidedRedis | null = null;

const stop = exitOnSignals(log, 'the bots stop taking requests, the worker finishes its current job');

async function shutdown(): Promise<void> {
  // Stop taking requests first, then let the worker finish its job, then close Redis (ours last of all).
  for (const adapter of adapters) await adapter.stop().catch((err: Error) => log.warn({ err: err.message, platform: adapter.platform }, 'adapter stop failed'));
  await worker?.close();
  await ops?.close();
  await services?.close();
  await redis?.embedded?.stop();
}

/** One paragraph on stderr, the embedded Redis stopped, exit 1: what every start-up failure looks like. */
async function cannotStart(message: string): Promise<never> {
  process.stderr.write(`cogcast: cannot start: ${message}\n`);
  for (const adapter of adapters) await adapter.stop().catch(() => undefined);
  await redis?.embedded?.stop().catch(() => undefined);
  process.exit(1);
}

try {
  checkWebSettings(config);
  // An operator's REDIS_URL is only pinged (never replaced): a dead one is said at once, before the model is built.
  if (isSetByOperator('REDIS_URL')) {
    const { provideRedis } = await import('../queue/embedded-redis.ts');
    redis = await provideRedis({ url: config.REDIS_URL, tlsCaFile: config.REDIS_TLS_CA_FILE, operatorSet: true, dataDir: resolve('var/redis'), log });
  }
  // The model first: a wrong ENGINE_MODEL is reported in seconds, before any platform comes up.
  let model: ResolvedModel | null = null;
  if (config.COGCAST_ROLE !== 'bot') {
    model = await resolveEngineModel({ requested: config.ENGINE_MODEL, device: config.ENGINE_DEVICE, python: resolve(config.ENGINE_PYTHON), presetsFileSet: isSetByOperator('PRESETS_FILE'), root: PROJECT_ROOT, log });
    // The demo model makes tiny clips only: the bot offers its presets too.
    if (model.presetsFile) config = { ...config, PRESETS_FILE: model.presetsFile };
    if (model.demo) log.warn({ model: model.model, why: model.why }, text('demo_model'));
    else log.info({ model: model.model, why: model.why }, 'engine model');
  }

  const { provideRedis } = await import('../queue/embedded-redis.ts');
  const { createCommandServices } = await import('../app-services.ts');
  const { startChatAdapters } = await import('../platforms/start-adapters.ts');
  const { startProcessOps } = await import('../ops/process-ops.ts');
  const { dashboardCredentials } = await import('../ops/dashboard.ts');
  const { configuredOutbounds } = await import('../platforms/configured-outbounds.ts');
  const { startVideoWorker } = await import('../../worker/video-worker.ts');

  redis ??= await provideRedis({ url: config.REDIS_URL, tlsCaFile: config.REDIS_TLS_CA_FILE, operatorSet: isSetByOperator('REDIS_URL'), dataDir: resolve('var/redis'), log });

  const platforms: PlatformLine[] = [];
  const off: PlatformLine[] = [];
  if (config.COGCAST_ROLE !== 'worker') {
    services = createCommandServices(config);
    adapters = await startChatAdapters(config, services);
    platforms.push(...adapters.map(chatPlatformLine));
    if (!config.TELEGRAM_BOT_TOKEN) off.push({ platform: 'telegram', detail: 'set TELEGRAM_BOT_TOKEN' });
    if (!config.DISCORD_TOKEN) off.push({ platform: 'discord', detail: 'set DISCORD_TOKEN' });
    if (config.WEB_PORT === 0) off.push({ platform: 'web', detail: 'WEB_PORT=0' });
  }
  // One /metrics + /healthz per process; the worker's engine joins health once it exists.
  const port = config.COGCAST_ROLE === 'worker' ? config.WORKER_METRICS_PORT : config.METRICS_PORT;
  // In one process with the worker, /healthz is 503 until its engine serves.
  const engine = config.COGCAST_ROLE === 'all' ? { get state() { return worker?.engine.state ?? 'starting'; } } : undefined;
  if (services) ops = await startProcessOps({ config, port: port || null, queue: services.queue, engine, dashboard: true, log });
  const opsHost = config.OPS_HOST === '0.0.0.0' ? '127.0.0.1' : config.OPS_HOST;
  report.summary({
    role: config.COGCAST_ROLE,
    redis: { url: config.REDIS_URL, embedded: redis.embedded !== null, dataDir: `var/redis/port-${new URL(config.REDIS_URL).port || 6379}` },
    platforms,
    off,
    model,
    metricsUrl: ops?.port ? `http://${opsHost}:${ops.port}` : null,
    dashboardUrl: ops?.port && ops.dashboardPath ? `http://${opsHost}:${ops.port}${ops.dashboardPath}/` : null,
    dashboardOff: dashboardCredentials(config) ? 'port busy' : 'set DASHBOARD_USER and DASHBOARD_PASSWORD',
  });

  if (config.COGCAST_ROLE !== 'bot' && model) {
    const presetNames = loadPresets(config.PRESETS_FILE).names;
    worker = await startVideoWorker(config, { deliveries: configuredOutbounds(config), model, onEngine: (client) => followEngineStart(client, report, presetNames) });
    log.info({ workerId: worker.id }, 'GPU worker taking jobs');
    if (!ops) ops = await startProcessOps({ config, port: port || null, queue: worker.queue, engine: worker.engine, log });
  }
  // A signal that came while starting is acted on now, with everything started known to shutdown.
  stop.stopWith(shutdown);
} catch (err) {
  // Each of these is one paragraph already (RedisUnavailableError too: its module loads late, so it is not named here).
  if (err instanceof ModelUnavailableError || err instanceof WebConfigError) await cannotStart(err.message);
  await cannotStart((err as Error).message);
}

// What `npm start` is running, in a few lines a person reads at a glance: platforms, Redis, model, worker and
// engine state, and the URLs to open. Printed to stdout (the JSON logs go to stderr) and logged as one line.
import { text } from '../core/texts.ts';
import type { Logger } from 'pino';
import { hideUrlPassword } from '../../config/env.ts';
import type { ResolvedModel } from '../../worker/engine-client/model-resolution.ts';

/** The scopes and permissions README's Discord section lists (View Channel, Send Messages, Embed Links, Attach Files, Read Message History). */
export const DISCORD_INVITE_SCOPES = ['bot', 'applications.commands'];
export const DISCORD_INVITE_PERMISSIONS = 117760;

export function discordInviteUrl(applicationId: string): string {
  const scope = encodeURIComponent(DISCORD_INVITE_SCOPES.join(' '));
  return `https://discord.com/oauth2/authorize?client_id=${applicationId}&scope=${scope}&permissions=${DISCORD_INVITE_PERMISSIONS}`;
}

export interface PlatformLine {
  platform: string;
  /** e.g. `@cogcast_bot`, `application 123… · invite https://…`, `http://127.0.0.1:8080`. */
  detail: string;
}

export interface StartupFacts {
  role: 'all' | 'bot' | 'worker';
  redis: { url: string; embedded: boolean; dataDir?: string };
  platforms: PlatformLine[];
  /** Platforms that are off and why (no token, port busy). */
  off: PlatformLine[];
  model: ResolvedModel | null;
  metricsUrl: string | null;
  dashboardUrl: string | null;
  /** The dashboard is off: why (no credentials). */
  dashboardOff?: string;
}

/** The start-up block; the engine line comes separately as it changes (see EngineStateLine). */
export function renderStartupSummary(f: StartupFacts): string {
  const lines = ['cogcast is starting'];
  const row = (label: string, text: string) => lines.push(`  ${label.padEnd(10)} ${text}`);
  row('redis', `${hideUrlPassword(f.redis.url)}${f.redis.embedded ? ` (local redis-server started by npm start, data in ${f.redis.dataDir ?? 'var/redis'})` : ''}`);
  if (f.role !== 'worker') {
    if (f.platforms.length === 0) row('platforms', 'none');
    for (const p of f.platforms) row(p.platform, p.detail);
    for (const p of f.off) row(p.platform, `off: ${p.detail}`);
  }
  if (f.model) {
    row('model', `${f.model.model} (${f.model.why})`);
    if (f.model.demo) row('', `⚠ ${text('demo_model')}`);
  }
  if (f.metricsUrl) row('metrics', `${f.metricsUrl}/metrics · health ${f.metricsUrl}/healthz`);
  if (f.role !== 'worker') row('dashboard', f.dashboardUrl ?? `off${f.dashboardOff ? `: ${f.dashboardOff}` : ''}`);
  return lines.join('\n');
}

export type EngineProgress =
  | { state: 'loading' }
  | { state: 'warming'; preset: string; index: number; of: number }
  | { state: 'ready'; seconds: number; device: string; gpuName: string | null }
  | { state: 'failed'; reason: string };

export function renderEngineLine(p: EngineProgress): string {
  switch (p.state) {
    case 'loading':
      return '  engine     loading the model…';
    case 'warming':
      return `  engine     warming preset ${p.preset} (${p.index} of ${p.of})…`;
    case 'ready':
      return `  engine     ready in ${Math.round(p.seconds)} s on ${p.gpuName ?? p.device}: taking jobs`;
    case 'failed':
      return `  engine     failed: ${p.reason}`;
  }
}

/** Writes the summary for people (stdout) and for log collectors (one JSON line). */
export class StartupReport {
  constructor(
    private readonly log: Logger,
    private readonly out: NodeJS.WritableStream = process.stdout,
  ) {}

  summary(f: StartupFacts): void {
    this.out.write(`${renderStartupSummary(f)}\n`);
    this.log.info(
      { redis: hideUrlPassword(f.redis.url), embeddedRedis: f.redis.embedded, platforms: f.platforms, off: f.off, model: f.model?.model, demoModel: f.model?.demo ?? false, metrics: f.metricsUrl, dashboard: f.dashboardUrl },
      'start-up summary',
    );
  }

  engine(p: EngineProgress): void {
    this.out.write(`${renderEngineLine(p)}\n`);
    this.log.info({ engine: p }, 'engine state');
  }
}

/** Telegram @name or Discord application and invite, from a started chat bot (its client objects). */
export function chatPlatformLine(adapter: { platform: string; bot?: unknown; client?: unknown; url?: string | null; offReason?: string; access?: string }): PlatformLine {
  if (adapter.platform === 'telegram') {
    const username = (adapter.bot as { botInfo?: { username?: string } } | undefined)?.botInfo?.username;
    return { platform: 'telegram', detail: username ? `@${username}` : 'connected' };
  }
  if (adapter.platform === 'discord') {
    const client = adapter.client as { application?: { id?: string } | null; user?: { id?: string; tag?: string } | null } | undefined;
    const id = client?.application?.id ?? client?.user?.id;
    return { platform: 'discord', detail: id ? `application ${id}${client?.user?.tag ? ` (${client.user.tag})` : ''} · invite ${discordInviteUrl(id)}` : 'connected' };
  }
  if (adapter.platform === 'web') {
    const web = adapter as { url?: string | null; offReason?: string; access?: string };
    return { platform: 'web', detail: web.url ? `${web.url}${web.access ?? ''}` : `off: ${web.offReason ?? 'not listening'}` };
  }
  return { platform: adapter.platform, detail: 'running' };
}

/** The part of EngineClient the summary follows (events: status, ready, restart). */
interface EngineEvents {
  on(event: 'status', listener: (msg: { state: string; preset?: string | null }) => void): unknown;
  once(event: 'ready', listener: (msg: { device: string; gpu_name?: string | null }) => void): unknown;
}

/** Prints the engine's start-up as it goes: loading, warming preset x of y, ready in N s. */
export function followEngineStart(engine: EngineEvents, report: StartupReport, presetNames: readonly string[], now: () => number = Date.now): void {
  const started = now();
  let ready = false;
  report.engine({ state: 'loading' });
  engine.on('status', (msg) => {
    if (ready || msg.state !== 'warming' || !msg.preset) return;
    report.engine({ state: 'warming', preset: msg.preset, index: presetNames.indexOf(msg.preset) + 1, of: presetNames.length });
  });
  engine.once('ready', (msg) => {
    ready = true;
    report.engine({ state: 'ready', seconds: (now() - started) / 1000, device: msg.device, gpuName: msg.gpu_name ?? null });
  });
}

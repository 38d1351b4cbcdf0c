// The start-up summary a person reads at a glance: what runs, where to click, and the engine as it warms up.
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { logger } from '../../src/core/log.ts';
import { text } from '../../src/core/texts.ts';
import { chatPlatformLine, discordInviteUrl, followEngineStart, renderStartupSummary, StartupReport } from '../../src/bin/startup-summary.ts';

describe('start-up summary', () => {
  test('platforms, Redis, model and URLs, one per line; the demo model flagged', () => {
    const summary = renderStartupSummary({
      role: 'all',
      redis: { url: 'redis://:hunter2@127.0.0.1:6379', embedded: true, dataDir: 'var/redis/port-6379' },
      platforms: [chatPlatformLine({ platform: 'telegram', bot: { botInfo: { username: 'cogcast_bot' } } }), { platform: 'web', detail: 'http://127.0.0.1:8080/' }],
      off: [{ platform: 'discord', detail: 'set DISCORD_TOKEN' }],
      model: { model: '/repo/var/demo-model', source: 'demo', demo: true, why: 'no CUDA GPU on this host', presetsFile: null },
      metricsUrl: 'http://127.0.0.1:9464',
      dashboardUrl: null,
      dashboardOff: 'set DASHBOARD_USER and DASHBOARD_PASSWORD',
    });
    assert.equal(
      summary,
      [
        'cogcast is starting',
        '  redis      redis://:***@127.0.0.1:6379 (local redis-server started by npm start, data in var/redis/port-6379)',
        '  telegram   @cogcast_bot',
        '  web        http://127.0.0.1:8080/',
        '  discord    off: set DISCORD_TOKEN',
        '  model      /repo/var/demo-model (no CUDA GPU on this host)',
        `             ⚠ ${text('demo_model')}`,
        '  metrics    http://127.0.0.1:9464/metrics · health http://127.0.0.1:9464/healthz',
        '  dashboard  off: set DASHBOARD_USER and DASHBOARD_PASSWORD',
      ].join('\n'),
    );
  });

  test("Discord: the application and README's invite URL (bot + applications.commands, permissions 117760)", () => {
    const line = chatPlatformLine({ platform: 'discord', client: { application: { id: '1019967565440962566' }, user: { tag: 'cogcast#0001' } } });
    assert.equal(line.detail, `application 1019967565440962566 (cogcast#0001) · invite ${discordInviteUrl('1019967565440962566')}`);
    const invite = new URL(discordInviteUrl('1019967565440962566'));
    assert.equal(invite.searchParams.get('client_id'), '1019967565440962566');
    assert.equal(invite.searchParams.get('scope'), 'bot applications.commands');
    assert.equal(invite.searchParams.get('permissions'), '117760');
  });

  test('the web page: its URL and how to get in, or why it is off', () => {
    assert.equal(chatPlatformLine({ platform: 'web', url: 'http://127.0.0.1:8080/', access: '' }).detail, 'http://127.0.0.1:8080/');
    assert.equal(chatPlatformLine({ platform: 'web', url: 'http://0.0.0.0:8080/', access: ' (open it once as ?token=<WEB_TOKEN>)' }).detail, 'http://0.0.0.0:8080/ (open it once as ?token=<WEB_TOKEN>)');
    assert.equal(chatPlatformLine({ platform: 'web', url: null, offReason: 'cannot listen on 127.0.0.1:8080 (port in use); set WEB_PORT' }).detail, 'off: cannot listen on 127.0.0.1:8080 (port in use); set WEB_PORT');
  });

  test('the engine line follows the engine: loading, warming preset x of y, ready in N s', () => {
    const lines: string[] = [];
    const out = new Writable({ write: (chunk, _enc, done) => void (lines.push(String(chunk).trimEnd()), done()) });
    const engine = new EventEmitter();
    let now = 1_000;
    followEngineStart(engine, new StartupReport(logger('test'), out), ['standard', 'draft', 'fast'], () => now);
    engine.emit('status', { state: 'loading' });
    engine.emit('status', { state: 'warming', preset: 'standard' });
    engine.emit('status', { state: 'warming', preset: 'fast' });
    now += 23_400;
    engine.emit('ready', { device: 'cuda:0', gpu_name: 'NVIDIA H200' });
    assert.deepEqual(lines, [
      '  engine     loading the model…',
      '  engine     warming preset standard (1 of 3)…',
      '  engine     warming preset fast (3 of 3)…',
      '  engine     ready in 23 s on NVIDIA H200: taking jobs',
    ]);
  });
});

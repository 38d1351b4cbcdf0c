import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, ENV_REGISTRY, parseEnv, secretEnvNames } from '../../config/env.ts';
import { loadPresets } from '../../config/presets.ts';
import { engineEnvironment } from '../../worker/engine-client/engine-environment.ts';
import { engineSettings } from '../../worker/engine-client/engine-settings.ts';
import { REPO_ROOT, TINY_PRESETS } from '../helpers/test-config.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
const PASSWORD = 'correct-horse-battery';

async function runLogger(mode: string, env: Record<string, string>): Promise<Record<string, unknown>[]> {
  const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'test/fixtures/log-with-secrets.ts'), mode], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH, ...env },
  });
  return stderr
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('logs and secrets', () => {
  test('a bot token or password never appears in log output, however it is logged', async () => {
    const lines = await runLogger('secrets', { TELEGRAM_BOT_TOKEN: TOKEN, DASHBOARD_PASSWORD: PASSWORD, LOG_LEVEL: 'info' });
    const text = lines.map((l) => JSON.stringify(l)).join('\n');
    assert.ok(lines.length >= 9, `expected every line to be logged, got ${lines.length}`);
    for (const secret of [TOKEN, TOKEN.split(':')[1]!, PASSWORD, 'MTAxOTk2NzU2NTQ0MDk2MjU2Ng.GxYz12', 'late-secret-from-dotenv', 'redis-pass-word']) {
      assert.ok(!text.includes(secret), `"${secret}" leaked into the logs`);
    }
    assert.equal(lines.find((l) => l.msg === 'secrets as fields')?.TELEGRAM_BOT_TOKEN, '[redacted]');
    assert.match(JSON.stringify(lines.find((l) => l.msg === 'an error quoting a URL')), /bot\[redacted\]\/sendVideo/);
    assert.match(String(lines.find((l) => String(l.msg).startsWith('late:'))?.msg), /^late: \[redacted\] and \[redacted\]$/);
    // Structured: every line is JSON naming its component.
    assert.ok(lines.every((l) => typeof l.component === 'string' && typeof l.level === 'number'));
  });

  test('worker and engine lines carry the running job id, user and platform; none between jobs', async () => {
    const lines = await runLogger('secrets', { LOG_LEVEL: 'info' });
    const engine = lines.find((l) => l.msg === 'engine stderr during a job');
    assert.deepEqual([engine?.jobId, engine?.user, engine?.platform, engine?.workerId], ['job-1', 'telegram:7', 'telegram', 'w1']);
    const processorLine = lines.find((l) => l.msg === 'processor line');
    assert.equal(processorLine?.jobId, 'job-1');
    const between = lines.find((l) => l.msg === 'between jobs');
    assert.equal(between?.jobId, undefined);
  });

  test('LOG_LEVEL is respected, at start-up and once the configuration is parsed', async () => {
    const lines = await runLogger('levels', { LOG_LEVEL: 'warn' });
    assert.deepEqual(
      lines.map((l) => l.msg),
      ['warn line', 'error after configure'],
    );
  });

  test('a configuration error names the variable but never shows a secret or a URL password', () => {
    assert.throws(
      () => parseEnv({ TELEGRAM_WEBHOOK_SECRET: 'has spaces and a secret value' }),
      (err: Error) => err instanceof ConfigError && /TELEGRAM_WEBHOOK_SECRET=<hidden>/.test(err.message) && !err.message.includes('secret value'),
    );
    assert.throws(
      () => parseEnv({ REDIS_URL: 'http://:hunter2hunter2@redis:6379' }),
      (err: Error) => /REDIS_URL="http:\/\/:\*\*\*@redis:6379"/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  test('the engine process gets no secret variable', () => {
    // An allow-list now (engine-environment.ts): the engine's own settings travel as one document.
    const settings = engineSettings(parseEnv({}), loadPresets(TINY_PRESETS), '/m', 'cogvideox-2b');
    const engineEnv = engineEnvironment({ PATH: '/bin', TELEGRAM_BOT_TOKEN: TOKEN, DASHBOARD_PASSWORD: PASSWORD, REDIS_URL: `redis://:${PASSWORD}@h:6379`, ENGINE_MODEL: 'm' }, settings);
    assert.deepEqual(Object.keys(engineEnv).sort(), ['COGCAST_ENGINE_SETTINGS', 'PATH', 'PYTHONUNBUFFERED']);
    assert.equal(engineEnv.PATH, '/bin');
    assert.ok(!JSON.stringify(engineEnv).includes(PASSWORD) && !JSON.stringify(engineEnv).includes(TOKEN));
  });

  test('every token, password or secret variable is marked secret in the registry', () => {
    const looksSecret = Object.keys(ENV_REGISTRY).filter((name) => /TOKEN|PASSWORD|SECRET|API_KEY/.test(name));
    assert.ok(looksSecret.includes('DASHBOARD_PASSWORD'));
    assert.deepEqual(looksSecret.filter((name) => !secretEnvNames().includes(name as never)), []);
  });
});

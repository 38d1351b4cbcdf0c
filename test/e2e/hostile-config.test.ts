// Hostile configuration: bad environment values and broken presets files are each refused with one line naming the
// variable or file (never a stack trace, never a secret), and the processes exit with EX_CONFIG (78) or 1.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, parseEnv } from '../../config/env.ts';
import { PresetsFileError, loadPresets } from '../../config/presets.ts';
import { REPO_ROOT } from '../helpers/test-config.ts';

const EX_CONFIG = 78;
const TELEGRAM_TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';

function configError(source: Record<string, string>): ConfigError {
  try {
    parseEnv(source);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `${JSON.stringify(source).slice(0, 80)} threw ${String(err)}`);
    return err;
  }
  assert.fail(`${JSON.stringify(source).slice(0, 80)} was accepted`);
}

describe('hostile environment values', () => {
  test('each bad value is one line naming the variable, what it expects and what it is for', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ REDIS_URL: 'notaurl' }, /^REDIS_URL="notaurl" is invalid: /],
      [{ REDIS_URL: 'http://127.0.0.1:6379' }, /^REDIS_URL="http:\/\/127\.0\.0\.1:6379" is invalid/],
      [{ REDIS_URL: '' }, /^REDIS_URL="" is invalid/],
      [{ DISCORD_API_BASE: 'ftp://x' }, /^DISCORD_API_BASE="ftp:\/\/x" is invalid/],
      [{ TELEGRAM_API_ROOT: 'api.telegram.org' }, /^TELEGRAM_API_ROOT="api\.telegram\.org" is invalid/],
      [{ TELEGRAM_WEBHOOK_URL: 'http://bot.example/hook' }, /^TELEGRAM_WEBHOOK_URL="http:\/\/bot\.example\/hook" is invalid/],
      [{ QUOTA_MAX_PENDING_PER_USER: '0' }, /^QUOTA_MAX_PENDING_PER_USER="0" is invalid/],
      [{ QUOTA_MAX_JOBS_PER_HOUR: '' }, /^QUOTA_MAX_JOBS_PER_HOUR="" is invalid/],
      [{ PROMPT_MAX_CHARS: '9'.repeat(400) }, /^PROMPT_MAX_CHARS="9+" is invalid/],
      [{ METRICS_PORT: '70000' }, /^METRICS_PORT="70000" is invalid/],
      [{ COGCAST_ROLE: 'admin' }, /^COGCAST_ROLE="admin" is invalid/],
      [{ QUEUE_NAME: 'bad\nname' }, /^QUEUE_NAME="bad\\nname" is invalid/],
      [{ ENGINE_DEVICE: 'cuda:x; rm -rf /' }, /^ENGINE_DEVICE="cuda:x; rm -rf \/" is invalid/],
      [{ LOG_LEVEL: '\u202everbose\u0000' }, /^LOG_LEVEL="\u202everbose\\u0000" is invalid/],
    ];
    for (const [source, expected] of cases) {
      const err = configError(source);
      assert.match(err.message, expected);
      assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
      assert.match(err.message, /\(.+\)$/, 'ends with what the variable is for');
    }
  });

  test('tokens that are blank or padded with spaces are refused by name, and never shown', () => {
    for (const [name, value] of [
      ['DISCORD_TOKEN', '   '],
      ['TELEGRAM_BOT_TOKEN', '\t'],
      ['TELEGRAM_BOT_TOKEN', ` ${TELEGRAM_TOKEN} `],
      ['DISCORD_TOKEN', 'MTAxOTk2NzU2NTQ0MDk2MjU2Ng.GxYz12.abcdefghijklmnopqrstuvwxyz0123456789AB\n'],
    ] as const) {
      const err = configError({ [name]: value });
      assert.match(err.message, new RegExp(`^${name}=<hidden> is invalid: a token without spaces around it`));
      assert.ok(!err.message.includes(value.trim()) || value.trim() === '', 'the token is not shown');
    }
    // Missing tokens are not an error: that platform is simply off.
    assert.equal(parseEnv({ DISCORD_TOKEN: '', TELEGRAM_BOT_TOKEN: '' }).DISCORD_TOKEN, '');
  });

  test('a bad Redis URL is named without its password', () => {
    const err = configError({ REDIS_URL: 'redis://cogcast:hunter2-secret@redis:notaport' });
    assert.match(err.message, /^REDIS_URL="redis:\/\/cogcast:\*\*\*@redis:notaport" is invalid/);
    assert.ok(!err.message.includes('hunter2-secret'));
  });
});

describe('hostile presets files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cogcast-presets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const good = { description: 'd', width: 64, height: 32, frames: 9, fps: 8, steps: 2, guidance: 6 };
  let n = 0;
  const file = (content: string) => {
    const path = join(dir, `presets-${n++}.json`);
    writeFileSync(path, content);
    return path;
  };
  const json = (value: unknown) => file(JSON.stringify(value));

  test('each broken file is one line naming the file and, where there is one, the field', () => {
    const cases: [string, RegExp][] = [
      [file('{"default": "a", "presets": {'), /: .*JSON/],
      [file(''), /: .*JSON/],
      [file('\u0000\u00ff\ufffd binary'), /: .*JSON/],
      [file('['.repeat(100_000)), /: /],
      [file('null'), /: \(root\): /],
      [json([good]), /: \(root\): /],
      [json({ default: 'a', presets: { a: good }, extra: true }), /: \(root\): .*extra/],
      [json({ default: 'a', presets: { a: { ...good, tile: 2 } } }), /: presets\.a: .*tile/],
      [json({ default: 'a', presets: { a: { ...good, steps: 0 } } }), /: presets\.a\.steps: /],
      [json({ default: 'a', presets: { a: { ...good, width: '720' } } }), /: presets\.a\.width: /],
      [json({ default: 'a', presets: { a: { ...good, frames: 48 } } }), /: presets\.a\.frames: must be 4k\+1/],
      [json({ default: 'a', presets: { a: 'standard' } }), /: presets\.a: /],
      [json({ default: 'a', presets: { a: [720, 480, 49] } }), /: presets\.a: /],
      [json({ default: 'a', presets: { a: { ...good, cache: { kind: 'taylorseer', interval: 4 } } } }), /: presets\.a\.tradesFidelity: /],
      [json({ default: 'Big One', presets: { 'Big One': good } }), /: presets\.Big One: /],
      [json({ default: 'missing', presets: { a: good } }), /: default: default must name one of the presets/],
      [json({ presets: { a: good } }), /: default: /],
      [json({ default: 'a', presets: {} }), /: default: /],
      [dir, /EISDIR/],
      [join(dir, 'does-not-exist.json'), /ENOENT/],
    ];
    for (const [path, expected] of cases) {
      assert.throws(
        () => loadPresets(path),
        (err: unknown) => {
          assert.ok(err instanceof PresetsFileError, `${path}: ${String(err)}`);
          assert.ok(err.message.startsWith(`presets file ${path}: `), err.message);
          assert.match(err.message, expected);
          assert.ok(!err.message.includes('\n'), `one line: ${JSON.stringify(err.message)}`);
          return true;
        },
      );
    }
  });
});

describe('processes started with hostile configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cogcast-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  /** Runs an entry point with only `env` (plus PATH): no .env values or test settings leak in. */
  async function run(entry: string, env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
    try {
      const { stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, entry)], {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, LOG_LEVEL: 'warn', METRICS_PORT: '0', WORKER_METRICS_PORT: '0', ...env },
        timeout: 60_000,
      });
      return { code: 0, stderr };
    } catch (err) {
      const e = err as { code?: number | string; killed?: boolean; stderr?: string };
      assert.ok(!e.killed, `${entry} did not exit by itself`);
      return { code: typeof e.code === 'number' ? e.code : null, stderr: e.stderr ?? '' };
    }
  }
  const lines = (stderr: string) => stderr.split('\n').filter((l) => l.trim().length > 0);

  test('npm start with a bad variable exits 78 with one line naming it', async () => {
    const { code, stderr } = await run('src/bin/start.ts', { REDIS_URL: 'notaurl' });
    assert.equal(code, EX_CONFIG);
    assert.deepEqual(lines(stderr).length, 1, stderr);
    assert.match(stderr, /^cogcast: configuration error: REDIS_URL="notaurl" is invalid: .*\(Redis holding the BullMQ queue, quotas and markers\)\n$/);
  });

  test('a worker with a bad variable exits 78 with one line naming it', async () => {
    const { code, stderr } = await run('src/bin/worker.ts', { ENGINE_DEVICE: 'tpu', DISCORD_API_BASE: 'ftp://x' });
    assert.equal(code, EX_CONFIG);
    assert.equal(lines(stderr).length, 1, stderr);
    assert.match(stderr, /^cogcast: configuration error: (ENGINE_DEVICE|DISCORD_API_BASE)="(tpu|ftp:\/\/x)" is invalid/);
  });

  test('a blank bot token exits 78 naming the variable, without printing it', async () => {
    const { code, stderr } = await run('src/bin/start.ts', { COGCAST_ROLE: 'bot', TELEGRAM_BOT_TOKEN: ` ${TELEGRAM_TOKEN} ` });
    assert.equal(code, EX_CONFIG);
    assert.equal(lines(stderr).length, 1, stderr);
    assert.match(stderr, /^cogcast: configuration error: TELEGRAM_BOT_TOKEN=<hidden> is invalid/);
    assert.ok(!stderr.includes(TELEGRAM_TOKEN.split(':')[1]!), 'the token is not printed');
  });

  test('a broken presets file stops the bot with one line naming the file', async () => {
    const path = join(dir, 'broken.json');
    writeFileSync(path, JSON.stringify({ default: 'a', presets: { a: { description: 'd', width: 64, height: 32, frames: 9, fps: 8, steps: 0, guidance: 6 } } }));
    const { code, stderr } = await run('src/bin/start.ts', { COGCAST_ROLE: 'bot', PRESETS_FILE: path, REDIS_URL: 'redis://127.0.0.1:6379' });
    assert.equal(code, 1);
    assert.equal(lines(stderr).length, 1, stderr);
    assert.match(stderr, new RegExp(`^cogcast: cannot start: presets file ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: presets\\.a\\.steps: `));
  });

  test('registering Discord commands without DISCORD_TOKEN exits 78 with one line saying so', async () => {
    const { code, stderr } = await run('src/bin/discord-register.ts', { DISCORD_TOKEN: '' });
    assert.equal(code, EX_CONFIG);
    assert.equal(stderr, 'cogcast: DISCORD_TOKEN is not set: nothing to register\n');
  });

  test('a start-up failure reaching the Telegram API never prints the bot token', async () => {
    // Nothing listens on port 1: getMe fails, and the error quotes the request URL.
    const { code, stderr } = await run('src/bin/start.ts', { COGCAST_ROLE: 'bot', TELEGRAM_BOT_TOKEN: TELEGRAM_TOKEN, TELEGRAM_API_ROOT: 'http://127.0.0.1:1' });
    assert.equal(code, 1);
    assert.match(stderr, /^cogcast: cannot start: /);
    assert.ok(!stderr.includes(TELEGRAM_TOKEN.split(':')[1]!), `the token leaked: ${stderr}`);
  });
});

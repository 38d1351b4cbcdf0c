// Who may open the web page: this machine by default; beyond loopback only with WEB_TOKEN or a login, else
// start-up refuses; the token and the login are checked on every request.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import express from 'express';
import { parseEnv } from '../../config/env.ts';
import { text } from '../../src/core/texts.ts';
import { accessGate, checkWebSettings, isLoopback, WebConfigError } from '../../src/platforms/web/web-access.ts';

const settings = (vars: Record<string, string>) => parseEnv({ ...vars });

describe('web settings at start-up', () => {
  test('loopback needs nothing; beyond it, a token or a login', () => {
    for (const host of ['127.0.0.1', '127.0.0.2', 'localhost', '::1']) assert.equal(isLoopback(host), true, host);
    for (const host of ['0.0.0.0', '::', '192.168.1.4', 'example.com']) assert.equal(isLoopback(host), false, host);
    checkWebSettings(settings({}));
    checkWebSettings(settings({ WEB_HOST: '0.0.0.0', WEB_TOKEN: 'a-long-enough-token' }));
    checkWebSettings(settings({ WEB_HOST: '0.0.0.0', WEB_USER: 'me', WEB_PASSWORD: 'pw' }));
    checkWebSettings(settings({ WEB_HOST: '0.0.0.0', WEB_PORT: '0' }));
  });

  test('refused, in one line naming the variables: open beyond loopback, half a login, a port clash', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ WEB_HOST: '0.0.0.0' }, /^WEB_HOST=0\.0\.0\.0 would open the web page beyond this machine to anyone: set WEB_TOKEN, or WEB_USER and WEB_PASSWORD/],
      [{ WEB_USER: 'me' }, /^WEB_USER is set but WEB_PASSWORD is not/],
      [{ WEB_PASSWORD: 'pw' }, /^WEB_PASSWORD is set but WEB_USER is not/],
      [{ TELEGRAM_WEBHOOK_URL: 'https://bot.example/hook', TELEGRAM_WEBHOOK_PORT: '8080' }, /^WEB_PORT and TELEGRAM_WEBHOOK_PORT are both 8080/],
    ];
    for (const [vars, expected] of cases) {
      assert.throws(() => checkWebSettings(settings(vars)), (err: unknown) => err instanceof WebConfigError && expected.test(err.message) && !err.message.includes('\n'), JSON.stringify(vars));
    }
  });
});

describe('the access gate', () => {
  let server: Server;
  let base: string;
  const TOKEN = 'tok-0123456789abcdef';
  before(async () => {
    const app = express();
    app.use('/token', accessGate(settings({ WEB_TOKEN: TOKEN })), (_req, res) => void res.send('page'));
    app.use('/login', accessGate(settings({ WEB_USER: 'me', WEB_PASSWORD: 'secret-pw' })), (_req, res) => void res.send('page'));
    app.use('/open', accessGate(settings({})), (_req, res) => void res.send('page'));
    server = createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  test('no setting: open', async () => {
    assert.equal((await fetch(`${base}/open/`)).status, 200);
  });

  test('WEB_TOKEN: refused without it; ?token= is traded for a cookie and dropped from the URL; Bearer works', async () => {
    const anonymous = await fetch(`${base}/token/`);
    assert.equal(anonymous.status, 401);
    assert.equal((await anonymous.text()).trim(), text('web.sign_in'));
    assert.equal((await fetch(`${base}/token/?token=wrong`)).status, 401);
    const trade = await fetch(`${base}/token/?token=${TOKEN}`, { redirect: 'manual' });
    assert.equal(trade.status, 303);
    assert.equal(new URL(trade.headers.get('location')!, base).search, '', 'the token leaves the address bar');
    const cookie = trade.headers.get('set-cookie') ?? '';
    assert.match(cookie, /HttpOnly/i);
    assert.match(cookie, /SameSite=Strict/i);
    assert.ok(!cookie.includes(TOKEN), 'the cookie holds a proof, not the token');
    assert.equal((await fetch(`${base}/token/`, { headers: { cookie: cookie.split(';')[0]! } })).status, 200);
    assert.equal((await fetch(`${base}/token/`, { headers: { cookie: 'cogcast_access=forged' } })).status, 401);
    assert.equal((await fetch(`${base}/token/`, { headers: { authorization: `Bearer ${TOKEN}` } })).status, 200);
  });

  test('WEB_USER + WEB_PASSWORD: basic auth, a challenge without it', async () => {
    const anonymous = await fetch(`${base}/login/`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic realm="cogcast"/);
    const basic = (u: string, p: string) => ({ authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` });
    assert.equal((await fetch(`${base}/login/`, { headers: basic('me', 'wrong') })).status, 401);
    assert.equal((await fetch(`${base}/login/`, { headers: basic('you', 'secret-pw') })).status, 401);
    assert.equal((await fetch(`${base}/login/`, { headers: basic('me', 'secret-pw') })).status, 200);
  });
});

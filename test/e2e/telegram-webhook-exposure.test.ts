// The Telegram webhook server (issue 13): on 127.0.0.1 unless TELEGRAM_WEBHOOK_HOST opens it, and its secret is
// configured or random, never derived from the bot token: knowing the token does not let anyone forge updates.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { after, before, describe, test } from 'node:test';
import { parseEnv } from '../../config/env.ts';
import { webhookOptions } from '../../src/platforms/telegram/webhook-options.ts';
import { freePort } from '../helpers/redis-server.ts';
import { ALICE, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

const TOKEN = '123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0';
/** What main derived from the token before: anyone holding the token could compute it. */
const derivedFrom = (token: string) => createHash('sha256').update(`cogcast:${token}`).digest('hex').slice(0, 48);

describe('telegram webhook options', () => {
  const base = { TELEGRAM_BOT_TOKEN: TOKEN, TELEGRAM_WEBHOOK_URL: 'https://bot.example/tg/hook' };

  test('listens on 127.0.0.1 by default, on an explicit host when told', () => {
    assert.equal(webhookOptions(parseEnv(base)).host, '127.0.0.1');
    assert.equal(webhookOptions(parseEnv({ ...base, TELEGRAM_WEBHOOK_HOST: '0.0.0.0' })).host, '0.0.0.0');
    assert.deepEqual({ ...webhookOptions(parseEnv(base)), secretToken: '' }, { domain: 'bot.example', path: '/tg/hook', host: '127.0.0.1', port: 8080, secretToken: '' });
  });

  test('the secret is random at each start (not derived from the token), or exactly the configured one', () => {
    const a = webhookOptions(parseEnv(base)).secretToken;
    const b = webhookOptions(parseEnv(base)).secretToken;
    assert.match(a, /^[A-Za-z0-9_-]{32,256}$/, 'a secret Telegram accepts, long enough not to be guessed');
    assert.notEqual(a, b);
    assert.notEqual(a, derivedFrom(TOKEN));
    assert.ok(!a.includes(TOKEN.split(':')[1]!));
    assert.equal(webhookOptions(parseEnv({ ...base, TELEGRAM_WEBHOOK_SECRET: 'configured-secret-0123456789' })).secretToken, 'configured-secret-0123456789');
  });
});

describe('telegram webhook server', () => {
  let h: TelegramHarness;
  let port: number;

  before(async () => {
    port = await freePort();
    h = await telegramHarness({ TELEGRAM_WEBHOOK_URL: `https://127.0.0.1:${port}/tg/hook`, TELEGRAM_WEBHOOK_PORT: String(port) });
    await h.startBot();
  });
  after(async () => h?.close());

  test('an update forged with a secret computed from the bot token is refused; the real one gets through', async () => {
    const secret = String(h.server.callsTo('setWebhook')[0]!.params.secret_token);
    assert.notEqual(secret, derivedFrom(h.server.token));
    const update = { update_id: 999_001, message: { message_id: 1, date: Math.floor(Date.now() / 1000), chat: { id: ALICE.id, type: 'private' }, from: { ...ALICE, is_bot: false }, text: '/help' } };
    const post = (token: string) =>
      fetch(`http://127.0.0.1:${port}/tg/hook`, { method: 'POST', headers: { connection: 'close', 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': token }, body: JSON.stringify(update) });
    const forged = await post(derivedFrom(h.server.token));
    assert.equal(forged.status, 403);
    // Telegram's own deliveries, with the secret it was given, are answered.
    const status = await h.answerTo(h.say(ALICE, '/gen a kite over a beach | seed=9'));
    assert.ok(status.messageId > 0);
    await h.server.waitForIdle();
    assert.ok(h.server.webhookDeliveries.length > 0 && h.server.webhookDeliveries.every((d) => d.ok), JSON.stringify(h.server.webhookDeliveries));
  });

  test('with the default host the webhook server is not reachable on the machine\'s network address', async (ctx) => {
    const external = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (!external) {
      ctx.skip('this machine has no non-loopback IPv4 address');
      return;
    }
    await assert.rejects(fetch(`http://${external}:${port}/tg/hook`, { method: 'POST', body: '{}' }), (err: Error & { cause?: { code?: string } }) => err.cause?.code === 'ECONNREFUSED');
  });
});

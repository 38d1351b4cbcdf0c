// The Telegram bot without a GPU worker: menus and help, queueing and cancelling, /gpu status, bad input, webhooks,
// and the worker's status edits (throttled, 429 honoured, final state kept), all through the fake Bot API server.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { randomUUID } from 'node:crypto';
import { Telegram } from 'telegraf';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../../src/queue/job-contract.ts';
import { TelegramDelivery } from '../../src/platforms/telegram/telegram-delivery.ts';
import { tooManyRequests } from '../fakes/telegram/fake-telegram-server.ts';
import { statusEvents } from '../helpers/status-events.ts';
import { ADMIN, ALICE, BOB, GROUP_ID, OPS, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

describe('telegram bot (no worker running)', () => {
  let h: TelegramHarness;

  before(async () => {
    h = await telegramHarness();
    await h.startBot();
  });
  after(async () => h.close());

  test('/start and /help explain /gen and its options; the menu lists the public commands only', async () => {
    assert.deepEqual(h.server.commands()?.map((c) => c.command), ['gen', 'settings', 'cancel', 'help']);
    for (const text of ['/start', '/help']) {
      const answer = await h.answerTo(h.say(ALICE, text));
      assert.equal(answer.parseMode, 'HTML');
      for (const needle of ['/gen a paper boat on a river | preset=draft seed=42', 'preset=NAME', 'tiny (default)', 'tiny-slow', 'seed=N', '/gen@fakebot', 'Cancel', 'Regenerate']) {
        assert.ok(answer.text?.includes(needle), `${text} answer lacks ${JSON.stringify(needle)}:\n${answer.text}`);
      }
    }
    const nudge = await h.answerTo(h.say(ALICE, 'make me a video of a cat'));
    assert.match(nudge.text ?? '', /^Send \/gen followed by a description/);
  });

  test('/gen is queued with its place, ETA and a Cancel button; Cancel while queued removes the job', async () => {
    const request = h.say(ALICE, '/gen a red fox in the snow | preset=tiny seed=42');
    const status = await h.answerTo(request);
    // No worker runs in this file: the message says the video waits for one.
    await h.waitForText(status, /^⏳ Queued: #1 in line, ready in about \d+ s\.\ntiny · seed 42\nNo GPU worker is running right now: your video waits until one starts\.$/);
    const jobs = await h.jobs();
    assert.equal(jobs.length, 1);
    const job = jobs[0]!;
    assert.equal(job.prompt, 'a red fox in the snow');
    assert.deepEqual([job.preset, job.seed, job.user.id, job.user.platform], ['tiny', 42, String(ALICE.id), 'telegram']);
    assert.deepEqual(job.delivery, { platform: 'telegram', target: { chatId: ALICE.id, statusMessageId: status.messageId, replyToMessageId: request.message_id } });
    assert.ok(!JSON.stringify(job).includes(h.server.token.split(':')[1]!), 'no token in the job payload');
    assert.deepEqual(status.replyMarkup, { inline_keyboard: [[{ text: 'Cancel', callback_data: `cancel:${job.requestId}` }]] });

    const press = h.server.pressButton({ chatId: ALICE.id, messageId: status.messageId, from: ALICE, text: 'Cancel' });
    await h.waitForText(status, /^🚫 Cancelled\.$/);
    await h.server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.id);
    assert.equal(h.server.callbackAnswer(press.id)?.text, 'Cancelled.');
    assert.equal(status.replyMarkup, undefined, 'the Cancel button is gone');
    assert.equal(await h.services.queue.primary.queue.getJob(job.requestId), undefined, 'the job left the queue');
    assert.deepEqual(await h.services.quota.pendingJobs(`telegram:${ALICE.id}`), []);
  });

  test('/cancel cancels all of your queued videos and marks their status messages', async () => {
    const first = await h.answerTo(h.say(BOB, '/gen a lighthouse at night'));
    const second = await h.answerTo(h.say(BOB, '/gen waves on rocks | seed=7'));
    await h.waitForText(second, /^⏳ Queued: #2 in line/);
    const answer = await h.answerTo(h.say(BOB, '/cancel'));
    assert.equal(answer.text, 'Cancelled 2 videos.');
    await h.waitForText(first, /^🚫 Cancelled\.$/);
    await h.waitForText(second, /^🚫 Cancelled\.$/);
    assert.deepEqual(await h.jobs(), []);
    assert.equal((await h.answerTo(h.say(BOB, '/cancel'))).text, 'That video request no longer exists.');
  });

  test('in a group, /gen@fakebot is queued, and only its requester may cancel it', async () => {
    const request = h.say(ALICE, '/gen@fakebot a hot air balloon | seed=3', true);
    const status = await h.answerTo(request);
    await h.waitForText(status, /^⏳ Queued: #1 in line/);
    const [job] = await h.jobs();
    assert.equal(job?.prompt, 'a hot air balloon');
    assert.deepEqual(job?.delivery.target, { chatId: GROUP_ID, statusMessageId: status.messageId, replyToMessageId: request.message_id });

    const other = h.say(BOB, '/gen@otherbot not for us', true);
    const bobPress = h.server.pressButton({ chatId: GROUP_ID, messageId: status.messageId, from: BOB, text: 'Cancel' });
    await h.server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === bobPress.id);
    assert.equal(h.server.callbackAnswer(bobPress.id)?.text, 'You can only cancel your own videos.');
    assert.equal(h.server.callbackAnswer(bobPress.id)?.showAlert, true, 'shown to Bob only, as an alert');
    assert.ok(await h.services.queue.primary.queue.getJob(job!.requestId), 'still queued');
    assert.match(status.text ?? '', /^⏳ Queued/, "Bob's refusal did not touch Alice's status");
    assert.equal(h.server.message(GROUP_ID, other.message_id)?.deliveredToBot, false);

    h.server.pressButton({ chatId: GROUP_ID, messageId: status.messageId, from: ALICE, text: 'Cancel' });
    await h.waitForText(status, /^🚫 Cancelled\.$/);
    assert.deepEqual(await h.jobs(), []);
  });

  test('/gpu status: refused politely to non-admins, revealing nothing; answered for admins', async () => {
    for (const text of ['/gpu status', '/gpu']) {
      const refusal = await h.answerTo(h.say(BOB, text));
      assert.equal(refusal.text, 'Sorry, this command is not available to you.');
    }
    const inGroup = await h.answerTo(h.say(BOB, '/gpu@fakebot status', true));
    assert.equal(inGroup.text, 'Sorry, this command is not available to you.');

    for (const admin of [ADMIN, OPS]) {
      const answer = await h.answerTo(h.say(admin, '/gpu status'));
      // The text itself belongs to commands/gpu-status.ts; here: it reached the admin, with the queue and Redis.
      assert.match(answer.text ?? '', /Queue: 0 waiting/);
      assert.match(answer.text ?? '', /Redis: ok/);
    }
  });

  test('empty, huge and hostile prompts get clear errors and nothing is enqueued', async () => {
    const cases: [string, RegExp | string][] = [
      ['/gen', 'Please describe the video: the prompt is empty.'],
      ['/gen    | seed=3', 'Please describe the video: the prompt is empty.'],
      ['/gen \u200b\u200d\u2060\u202e\ufeff', 'Please describe the video: the prompt is empty.'],
      [`/gen ${'a fox '.repeat(20_000)}`, /^That prompt is too long \(1\d{5} characters\); the limit is 500\.$/],
      ['/gen <b>fox</b> | preset=</i><a>', 'Unknown preset "</i><a>". Choose one of: tiny, tiny-slow.'],
      ['/gen *bold* _it_ [x](http://e.co) | style=`code`', 'I did not understand "style=`code`". Options look like preset=draft seed=42.'],
      ['/gen a fox | seed=-1', 'The seed must be a whole number from 0 to 4294967295.'],
      ['/gen a fox | seed=12abc', 'The seed must be a whole number from 0 to 4294967295.'],
      [`/gen a fox | preset=${'&<'.repeat(5000)}`, /^Unknown preset "[&<]{31}…"\. Choose one of: tiny, tiny-slow\.$/],
      [`/gen a fox | preset=${'p'.repeat(100_000)}`, `Unknown preset "${'p'.repeat(31)}…". Choose one of: tiny, tiny-slow.`],
      ['/gen a fox | preset=\u202eevil\u200b\u200d\u2060\u0007name\u202c', 'Unknown preset "evilname". Choose one of: tiny, tiny-slow.'],
    ];
    for (const [text, expected] of cases) {
      const answer = await h.answerTo(h.say(ALICE, text));
      if (typeof expected === 'string') assert.equal(answer.text, expected, text.slice(0, 80));
      else assert.match(answer.text ?? '', expected, text.slice(0, 80));
      assert.ok([...(answer.text ?? '')].length <= 4096);
    }
    await h.server.waitForIdle();
    assert.deepEqual(await h.jobs(), [], 'nothing was enqueued');
    assert.deepEqual(await h.services.quota.pendingJobs(`telegram:${ALICE.id}`), []);
    const failed = h.server.calls.filter((c) => c.method !== 'getUpdates' && c.status !== 200);
    assert.deepEqual(failed.map((c) => `${c.method}: ${JSON.stringify(c.response)}`), [], 'every reply was accepted by the Bot API');
  });
});

describe('telegram webhook mode', () => {
  let h: TelegramHarness;
  let port: number;

  before(async () => {
    port = await freePort();
    h = await telegramHarness({ TELEGRAM_WEBHOOK_URL: `https://127.0.0.1:${port}/tg/hook`, TELEGRAM_WEBHOOK_PORT: String(port) });
    await h.startBot();
  });
  after(async () => h.close());

  test('TELEGRAM_WEBHOOK_URL sets the webhook with a secret; updates arrive by POST and are answered', async () => {
    assert.equal(h.server.webhookUrl, `https://127.0.0.1:${port}/tg/hook`);
    const setWebhook = h.server.callsTo('setWebhook')[0]!;
    assert.match(String(setWebhook.params.secret_token), /^[0-9a-f]{48}$/);
    const status = await h.answerTo(h.say(ALICE, '/gen a kite over a beach | seed=9'));
    await h.waitForText(status, /^⏳ Queued: #1 in line/);
    await h.server.waitForIdle();
    assert.ok(h.server.webhookDeliveries.length > 0 && h.server.webhookDeliveries.every((d) => d.ok), JSON.stringify(h.server.webhookDeliveries));
    assert.equal(h.server.callsTo('getUpdates').length, 0, 'no long polling in webhook mode');
  });
});

describe('telegram status edits from the worker side', () => {
  let h: TelegramHarness;
  before(async () => {
    h = await telegramHarness();
  });
  after(async () => h.close());

  test('progress edits are coalesced per chat, 429 retry_after is honoured, the final state always lands', async () => {
    const delivery = statusEvents(new TelegramDelivery({ token: h.server.token, apiRoot: h.server.apiRoot, editIntervalMs: 800 }), h.t.config.REDIS_URL, h.t.config.QUEUE_NAME);
    const bot = new Telegram(h.server.token, { apiRoot: h.server.apiRoot });
    h.say(ALICE, 'hello'); // a chat must exist before the bot can write to it
    const sent = await bot.sendMessage(ALICE.id, '⏳ Queued');
    const jobId = randomUUID();
    const job: JobRequest = {
      v: JOB_PAYLOAD_VERSION,
      requestId: jobId,
      prompt: 'a fox',
      negativePrompt: '',
      preset: 'tiny-slow',
      seed: 1,
      user: { id: String(ALICE.id), name: 'alice', platform: 'telegram' },
      delivery: { platform: 'telegram', target: { chatId: ALICE.id, statusMessageId: sent.message_id } },
      createdAt: Date.now(),
    };
    const status = h.server.message(ALICE.id, sent.message_id)!;
    const editsOf = () => h.server.callsTo('editMessageText').filter((c) => Number(c.params.message_id) === sent.message_id);
    const edited = () => status.edits.length;

    await delivery.publish(job, jobId, { stage: 'generating', step: 1, steps: 12 });
    await h.waitForText(status, /step 1\/12/);
    for (let step = 2; step <= 12; step++) await delivery.publish(job, jobId, { stage: 'generating', step, steps: 12 });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(edited(), 1, 'a burst of progress within the interval waits');
    await h.waitForText(status, /step 12\/12/, 3000);
    assert.equal(edited(), 2, 'the next edit shows the latest state only');
    assert.match(status.text ?? '', /^🎨 Generating\n▓{12} step 12\/12\ntiny-slow · seed 1$/);
    assert.deepEqual(status.replyMarkup, { inline_keyboard: [[{ text: 'Cancel', callback_data: `cancel:${jobId}` }]] });

    h.server.failNext('editMessageText', tooManyRequests(1), 2);
    await delivery.publish(job, jobId, { stage: 'encoding' });
    await h.waitForText(status, /^🎞 Encoding the MP4…/, 6000);
    await h.server.waitForCall('editMessageText', (c) => c.status === 200 && String(c.params.text).startsWith('🎞 Encoding'));
    const [first429, second429, ok] = editsOf().slice(2);
    assert.deepEqual([first429?.status, second429?.status, ok?.status], [429, 429, 200]);
    assert.ok(second429!.at - first429!.at >= 950 && ok!.at - second429!.at >= 950, 'waited retry_after between tries');

    await delivery.publish(job, jobId, { stage: 'uploading' });
    await delivery.publish(job, jobId, { stage: 'cancelled' });
    assert.equal(status.text, '🚫 Cancelled.', 'the final state landed without waiting out the interval');
    assert.equal(status.replyMarkup, undefined);
    const count = edited();
    await delivery.publish(job, jobId, { stage: 'generating', step: 3, steps: 12 });
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(edited(), count, 'a late progress event does not overwrite the final state');
    await delivery.close();
  });
});

async function freePort(): Promise<number> {
  const probe = http.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

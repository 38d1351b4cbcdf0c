/** End-to-end checks of FakeTelegramServer driven by the real telegraf client: polling, uploads, callbacks, faults, webhooks. */

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Markup, Telegraf, TelegramError } from 'telegraf';
import {
  FakeTelegramServer,
  serverError,
  tooManyRequests,
  tryParseMarkup,
  type FakeTelegramServerOptions,
  type TgUpdate,
} from '../fakes/telegram/fake-telegram-server.ts';

const ALICE = { id: 1001, username: 'alice', first_name: 'Alice' };
const BOB = { id: 1002, username: 'bob', first_name: 'Bob' };
const GROUP_ID = -100200300;

/** A real 64x48, 1 s MP4 when ffmpeg is around (so metadata probing is exercised), else random bytes. */
function makeVideo(): { bytes: Buffer; real: boolean } {
  const dir = mkdtempSync(join(tmpdir(), 'fake-tg-'));
  try {
    const out = join(dir, 'clip.mp4');
    execFileSync(
      '/usr/bin/ffmpeg',
      ['-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=64x48:rate=8', '-t', '1', '-c:v', 'mpeg4', '-y', out],
      { stdio: 'ignore', timeout: 10_000 },
    );
    return { bytes: readFileSync(out), real: true };
  } catch {
    return { bytes: randomBytes(3000), real: false };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const VIDEO = makeVideo();

/** node:test runs t.after hooks first-in-first-out; teardown must be the reverse of setup (bot before server). */
const cleanups = new WeakMap<TestContext, (() => unknown)[]>();
function defer(t: TestContext, fn: () => unknown): void {
  let stack = cleanups.get(t);
  if (stack === undefined) {
    const fns: (() => unknown)[] = [];
    cleanups.set(t, fns);
    t.after(async () => {
      for (const cleanup of fns.reverse()) await cleanup();
    });
    stack = fns;
  }
  stack.push(fn);
}

async function startServer(t: TestContext, options: FakeTelegramServerOptions = {}): Promise<FakeTelegramServer> {
  const server = new FakeTelegramServer(options);
  await server.start();
  defer(t, () => server.stop());
  return server;
}

/** Launches a polling bot; cleanup stops it and waits for telegraf's polling loop to wind down. */
async function launchBot(t: TestContext, server: FakeTelegramServer, setup: (bot: Telegraf) => void): Promise<Telegraf> {
  const bot = new Telegraf(server.token, { telegram: { apiRoot: server.apiRoot } });
  setup(bot);
  let launchError: unknown;
  const launched = bot.launch().catch((error: unknown) => {
    launchError = error;
  });
  defer(t, async () => {
    bot.stop('test done');
    await launched;
    if (launchError !== undefined) throw launchError;
  });
  await server.waitForPolling();
  return bot;
}

async function api(server: FakeTelegramServer, method: string, body?: unknown, token = server.token) {
  const res = await fetch(`${server.apiRoot}/bot${token}/${method}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

test('speaks the Bot API protocol: envelopes, auth, long polling with offset/limit/timeout', async (t) => {
  const server = await startServer(t);

  const me = await api(server, 'getMe');
  assert.equal(me.status, 200);
  assert.deepEqual(me.json, { ok: true, result: server.botInfo });
  assert.equal((await api(server, 'GETME')).status, 200, 'method names are case-insensitive');
  assert.deepEqual(await api(server, 'getMe', {}, '123456789:wrong'), {
    status: 401,
    json: { ok: false, error_code: 401, description: 'Unauthorized' },
  });
  assert.deepEqual(await api(server, 'noSuchMethod'), {
    status: 404,
    json: { ok: false, error_code: 404, description: 'Not Found' },
  });

  // An idle poll is held for `timeout` seconds and then answers an empty list.
  let started = Date.now();
  const idle = await api(server, 'getUpdates', { timeout: 1 });
  assert.deepEqual(idle.json, { ok: true, result: [] });
  assert.ok(Date.now() - started >= 900, 'timeout is honoured');

  // A held poll answers as soon as an update arrives.
  started = Date.now();
  const polling = api(server, 'getUpdates', { timeout: 10 });
  setTimeout(() => server.sendUserMessage({ from: ALICE, text: '/start' }), 100);
  const woke = await polling;
  assert.ok(Date.now() - started < 2000, 'poll returned early');
  const [update] = (woke.json as { result: TgUpdate[] }).result;
  assert.equal(update?.message?.text, '/start');
  assert.deepEqual(update?.message?.entities, [{ type: 'bot_command', offset: 0, length: 6 }]);
  assert.deepEqual(update?.message?.chat, { id: ALICE.id, type: 'private', first_name: 'Alice', username: 'alice' });

  // Unconfirmed updates are redelivered; limit caps; offset confirms.
  server.sendUserMessage({ from: ALICE, text: 'second' });
  const limited = (await api(server, 'getUpdates', { limit: 1 })).json as { result: TgUpdate[] };
  assert.deepEqual(limited.result.map((u) => u.update_id), [update!.update_id]);
  const rest = (await api(server, 'getUpdates', { offset: update!.update_id + 1 })).json as { result: TgUpdate[] };
  assert.deepEqual(rest.result.map((u) => u.message?.text), ['second']);
  await api(server, 'getUpdates', { offset: rest.result[0]!.update_id + 1 });
  assert.equal(server.pendingUpdates().length, 0);

  // Two pollers at once: the first is cut off with 409, like two bot instances on one token.
  const first = api(server, 'getUpdates', { timeout: 5 });
  await server.waitForPolling();
  await api(server, 'getUpdates', { timeout: 0 });
  assert.deepEqual((await first).json, {
    ok: false,
    error_code: 409,
    description: 'Conflict: terminated by other getUpdates request; make sure that only one bot instance is running',
  });
});

test('telegraf bot: /start and /gen@fakebot in a group, video uploaded as multipart and re-sent by file_id', async (t) => {
  const server = await startServer(t);
  const bot = await launchBot(t, server, (b) => {
    b.start((ctx) => ctx.reply('Welcome!', Markup.inlineKeyboard([Markup.button.callback('Make a video', 'gen:demo')])));
    b.command('gen', async (ctx) => {
      await ctx.sendChatAction('upload_video');
      await ctx.reply(`Generating: ${ctx.payload}`);
      await ctx.replyWithVideo(
        { source: VIDEO.bytes, filename: 'clip.mp4' },
        { caption: `<b>${ctx.payload}</b> (seed 42)`, parse_mode: 'HTML', supports_streaming: true },
      );
    });
  });
  await bot.telegram.setMyCommands([{ command: 'gen', description: 'Generate a video' }]);
  assert.deepEqual(server.commands(), [{ command: 'gen', description: 'Generate a video' }]);

  server.sendUserMessage({ from: ALICE, text: '/start' });
  const welcome = await server.waitForMessage((m) => m.text === 'Welcome!');
  assert.equal(welcome.chatId, ALICE.id);
  assert.equal(welcome.messageId, 2, 'message ids are per chat and shared by both sides');
  assert.deepEqual(welcome.replyMarkup, { inline_keyboard: [[{ text: 'Make a video', callback_data: 'gen:demo' }]] });
  assert.deepEqual(server.history(ALICE.id).map((m) => [m.messageId, m.fromBot]), [[1, false], [2, true]]);

  const command = server.sendUserMessage({ from: ALICE, chatType: 'group', chatId: GROUP_ID, chatTitle: 'Lab', text: '/gen@fakebot hello' });
  assert.deepEqual(command.entities, [{ type: 'bot_command', offset: 0, length: 12 }]);
  const videoMessage = await server.waitForMessage((m) => m.chatId === GROUP_ID && m.file !== undefined);
  const upload = await server.waitForCall('sendVideo');
  assert.equal(upload.files.length, 1);
  assert.equal(upload.files[0]!.filename, 'clip.mp4');
  assert.ok(upload.files[0]!.bytes.equals(VIDEO.bytes), 'multipart bytes arrive intact');
  assert.equal(upload.params.supports_streaming, 'true', 'multipart fields arrive as strings');
  assert.ok(videoMessage.file!.bytes.equals(VIDEO.bytes));
  assert.equal(videoMessage.caption, 'hello (seed 42)');
  assert.deepEqual(videoMessage.message.caption_entities, [{ type: 'bold', offset: 0, length: 5 }]);
  const video = videoMessage.message.video!;
  assert.equal(video.mime_type, 'video/mp4');
  assert.equal(video.file_size, VIDEO.bytes.length);
  if (VIDEO.real) assert.deepEqual([video.width, video.height, video.duration], [64, 48, 1]);
  assert.equal((await server.waitForCall('sendChatAction')).params.action, 'upload_video');
  assert.deepEqual(
    server.botMessages(GROUP_ID).map((m) => m.text ?? `[video] ${m.caption}`),
    ['Generating: hello', '[video] hello (seed 42)'],
  );

  // Privacy mode: commands for other bots and plain chatter never reach the bot.
  const other = server.sendUserMessage({ from: BOB, chatType: 'group', chatId: GROUP_ID, text: '/gen@otherbot hi' });
  const chatter = server.sendUserMessage({ from: BOB, chatType: 'group', chatId: GROUP_ID, text: 'nice video' });
  assert.equal(server.message(GROUP_ID, other.message_id)?.deliveredToBot, false);
  assert.equal(server.message(GROUP_ID, chatter.message_id)?.deliveredToBot, false);
  await server.waitForIdle();
  assert.equal(server.botMessages(GROUP_ID).length, 2);

  // Re-sending by file_id uploads nothing and keeps the file's identity.
  const resent = await bot.telegram.sendVideo(GROUP_ID, video.file_id);
  const resendCall = server.callsTo('sendVideo').at(-1)!;
  assert.equal(resendCall.files.length, 0);
  assert.equal(resendCall.params.video, video.file_id);
  assert.equal(resent.video.file_unique_id, video.file_unique_id);
  await assert.rejects(bot.telegram.sendVideo(GROUP_ID, 'no-such-file-id'), {
    description: 'Bad Request: wrong file identifier/HTTP URL specified',
  });
});

test('inline button: answerCallbackQuery, edits, and faults surfacing as TelegramError', async (t) => {
  const server = await startServer(t);
  const handlerErrors: TelegramError[] = [];
  const bot = await launchBot(t, server, (b) => {
    b.start((ctx) => ctx.reply('Pick one', Markup.inlineKeyboard([Markup.button.callback('Go', 'gen:demo')])));
    b.action(/^gen:(.+)$/, async (ctx) => {
      await ctx.answerCbQuery('Queued');
      const text = `Queued: ${ctx.match[1]}`;
      try {
        await ctx.editMessageText(text);
      } catch (error) {
        // What a production handler does with flood control: read retry_after, back off, retry.
        if (!(error instanceof TelegramError) || error.code !== 429) throw error;
        handlerErrors.push(error);
        await sleep((error.parameters?.retry_after ?? 1) * 1000);
        await ctx.editMessageText(text);
      }
    });
  });

  server.sendUserMessage({ from: ALICE, text: '/start' });
  const menu = await server.waitForMessage((m) => m.text === 'Pick one');
  server.failNext('editMessageText', tooManyRequests(1));
  const query = server.pressButton({ chatId: ALICE.id, messageId: menu.messageId, from: ALICE, data: 'gen:demo' });
  assert.equal(query.message?.message_id, menu.messageId);

  await server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === query.id);
  assert.equal(server.callbackAnswer(query.id)?.text, 'Queued');
  const { edit } = await server.waitForEdit((m, e) => m.messageId === menu.messageId && e.text === 'Queued: demo');
  assert.equal(edit.replyMarkup, undefined, 'editing without reply_markup removes the keyboard');
  assert.equal(menu.replyMarkup, undefined);
  assert.equal(handlerErrors.length, 1);
  assert.equal(handlerErrors[0]!.code, 429);
  assert.equal(handlerErrors[0]!.parameters?.retry_after, 1);
  // The edit lands in the chat before the call is logged as answered, so wait for the log too.
  await server.waitForCall('editMessageText', (c) => c.status === 200);
  assert.deepEqual(
    server.callsTo('editMessageText').map((c) => c.status),
    [429, 200],
  );

  // The same faults seen directly by a caller of the telegraf client.
  server.sendUserMessage({ from: BOB, text: 'hello' });
  server.failNext('editMessageText', tooManyRequests(1));
  await assert.rejects(bot.telegram.editMessageText(ALICE.id, menu.messageId, undefined, 'again'), (error: unknown) => {
    assert.ok(error instanceof TelegramError);
    assert.equal(error.message, '429: Too Many Requests: retry after 1');
    assert.deepEqual(error.parameters, { retry_after: 1 });
    return true;
  });
  // Flood control covers every call for that chat until retry_after has passed; other chats are not held.
  await assert.rejects(bot.telegram.sendMessage(ALICE.id, 'meanwhile'), { code: 429, parameters: { retry_after: 1 } });
  assert.equal((await bot.telegram.sendMessage(BOB.id, 'other chat')).text, 'other chat');
  await sleep(1100);
  await assert.rejects(bot.telegram.editMessageText(ALICE.id, menu.messageId, undefined, 'Queued: demo'), {
    code: 400,
    description:
      'Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
  });
  await assert.rejects(bot.telegram.answerCbQuery(query.id, 'twice'), {
    description: 'Bad Request: query is too old and response timeout expired or query ID is invalid',
  });
  server.failNext('sendMessage', serverError(502, 'Bad Gateway'));
  await assert.rejects(bot.telegram.sendMessage(ALICE.id, 'hi'), { code: 502, description: 'Bad Gateway' });
  await assert.rejects(bot.telegram.sendMessage(ALICE.id, '1 < 2', { parse_mode: 'HTML' }), {
    description: 'Bad Request: can\'t parse entities: Unsupported start tag "" at byte offset 2',
  });
  // The product sends HTML only; the fake implements no other mode and says so.
  await assert.rejects(bot.telegram.sendMessage(ALICE.id, '*hi*', { parse_mode: 'MarkdownV2' }), {
    code: 400,
    description: 'Bad Request: unsupported parse_mode (FakeTelegramServer implements HTML only): MarkdownV2',
  });
  server.failNext('sendMessage', { networkError: true });
  await assert.rejects(bot.telegram.sendMessage(ALICE.id, 'hi'), { name: 'FetchError' });

  server.uploadLimitBytes = 1024;
  await assert.rejects(bot.telegram.sendDocument(ALICE.id, { source: randomBytes(4096), filename: 'big.bin' }), {
    code: 413,
    description: 'Request Entity Too Large',
  });
  server.uploadLimitBytes = 50 * 1024 * 1024;
  const doc = await bot.telegram.sendDocument(ALICE.id, { source: Buffer.from('ok'), filename: 'notes.txt' });
  assert.equal(doc.document.mime_type, 'text/plain');
  await assert.rejects(bot.telegram.sendMessage(999, 'hi'), { code: 400, description: 'Bad Request: chat not found' });
});

test('webhook mode: updates POSTed to the bot, webhook replies executed, getUpdates 409', async (t) => {
  const server = await startServer(t, { webhookRetryDelayMs: 50 });
  const bot = new Telegraf(server.token, { telegram: { apiRoot: server.apiRoot } });
  bot.start((ctx) => ctx.reply('Hi from a webhook', Markup.inlineKeyboard([Markup.button.callback('Tap', 'tap')])));
  bot.action('tap', async (ctx) => {
    await ctx.answerCbQuery('tapped'); // telegraf sends this in the webhook response body
    await ctx.editMessageText('Tapped');
  });

  const secrets: (string | undefined)[] = [];
  let failNextDelivery = false;
  let handler: (req: http.IncomingMessage, res: http.ServerResponse) => void = (_req, res) => res.writeHead(503).end();
  const app = http.createServer((req, res) => {
    secrets.push(req.headers['x-telegram-bot-api-secret-token'] as string | undefined);
    if (failNextDelivery) {
      failNextDelivery = false;
      res.writeHead(500).end();
      return;
    }
    handler(req, res);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  defer(t, () => new Promise<void>((resolve) => app.close(() => resolve())));
  const port = (app.address() as AddressInfo).port;

  // telegraf always builds an https:// URL; the fake delivers to it over plain HTTP on loopback.
  handler = await bot.createWebhook({ domain: `127.0.0.1:${port}`, path: '/tg-hook', secret_token: 'sekret_1' });
  assert.equal(server.webhookUrl, `https://127.0.0.1:${port}/tg-hook`);
  await assert.rejects(bot.telegram.getUpdates(0, 100, 0, undefined), {
    code: 409,
    description: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first",
  });
  await assert.rejects(bot.telegram.setWebhook(`http://127.0.0.1:${port}/x`), {
    description: 'Bad Request: bad webhook: An HTTPS URL must be provided for webhook',
  });

  server.sendUserMessage({ from: ALICE, text: '/start' });
  const greeting = await server.waitForMessage((m) => m.text === 'Hi from a webhook');
  assert.deepEqual(secrets, ['sekret_1']);

  // A failing endpoint is retried until it answers 2xx.
  failNextDelivery = true;
  const query = server.pressButton({ chatId: ALICE.id, messageId: greeting.messageId, from: ALICE, data: 'tap' });
  const answer = await server.waitForCall('answerCallbackQuery');
  assert.equal(answer.via, 'webhook-reply');
  assert.equal(answer.status, 200);
  assert.equal(server.callbackAnswer(query.id)?.text, 'tapped');
  await server.waitForEdit((m, e) => m.messageId === greeting.messageId && e.text === 'Tapped');
  await server.waitForIdle();
  assert.equal(server.pendingUpdates().length, 0);
  assert.deepEqual(server.webhookDeliveries.map((d) => d.ok), [true, false, true]);
  assert.equal(server.webhookDeliveries[1]!.error, 'Wrong response from the webhook: 500 Internal Server Error');

  // Back to polling: deleteWebhook, then getUpdates works again.
  assert.equal(await bot.telegram.deleteWebhook(), true);
  assert.deepEqual(await bot.telegram.getUpdates(0, 100, 0, undefined), []);
});

test('HTML parse mode follows TDLib: entities, links and byte-offset errors', () => {
  const cases: [string, 'HTML', unknown][] = [
    ['<b>bold</b> and <i>it</i>', 'HTML', { text: 'bold and it', entities: [{ type: 'bold', offset: 0, length: 4 }, { type: 'italic', offset: 9, length: 2 }] }],
    ['<a href="example.com">x</a>', 'HTML', { text: 'x', entities: [{ type: 'text_link', offset: 0, length: 1, url: 'http://example.com/' }] }],
    ['1 < 2', 'HTML', { error: 'Unsupported start tag "" at byte offset 2' }],
    ['<b>x</i>', 'HTML', { error: 'Unmatched end tag at byte offset 4, expected "</b>", found "</i>"' }],
    ['<b>open', 'HTML', { error: 'Can\'t find end tag corresponding to start tag "b"' }],
  ];
  for (const [markup, mode, expected] of cases) {
    assert.deepEqual(tryParseMarkup(markup, mode), expected, `${mode}: ${markup}`);
  }
});

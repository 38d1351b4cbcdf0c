// Issue 13's inbound findings on Telegram, through telegraf and the fake Bot API: each test fails on the main before
// the redesign (rate limit bypass, /cancel ignoring its id, forged callbacks, shared anonymous identities, admin
// answers posted to groups).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { UserInput } from '../fakes/telegram/fake-telegram-server.ts';
import { ADMIN, ALICE, BOB, GROUP_ID, OPS, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';

/** The account Telegram shows as the sender of every anonymous group admin's message. */
const ANONYMOUS: UserInput = { id: 1087968824, username: 'GroupAnonymousBot', first_name: 'Group', is_bot: true };
const OTHER_GROUP_ID = -100700800;
const RATE_LIMITED = 'Too many requests right now. Try again in a few seconds.';

describe('telegram: every answer counts against the per-user rate limit', () => {
  let h: TelegramHarness;
  before(async () => {
    h = await telegramHarness({ RATE_LIMIT_PER_USER_PER_MINUTE: '3' });
    await h.startBot();
  });
  after(async () => h.close());

  test('/start, /help and plain messages are counted; the fourth in a minute is told to slow down', async () => {
    const answers = [];
    for (const text of ['/start', 'hello there', '/help', '/help']) answers.push((await h.answerTo(h.say(ALICE, text))).text);
    assert.match(answers[0] ?? '', /Short AI videos/);
    assert.match(answers[1] ?? '', /^Send \/gen/);
    assert.match(answers[2] ?? '', /Short AI videos/);
    assert.equal(answers[3], RATE_LIMITED);
    assert.equal((await h.answerTo(h.say(BOB, '/help'))).text?.includes('Short AI videos'), true, 'another user is not affected');
  });
});

describe('telegram: commands and buttons act on their own job and message only', () => {
  let h: TelegramHarness;
  before(async () => {
    h = await telegramHarness();
    await h.startBot();
  });
  after(async () => h.close());

  const queued = async (from: UserInput, prompt: string, inGroup = false) => {
    const status = await h.answerTo(h.say(from, `/gen${inGroup ? '@fakebot' : ''} ${prompt}`, inGroup));
    await h.waitForText(status, /^⏳ Queued/);
    const job = (await h.jobs()).find((j) => j.prompt === prompt)!;
    return { status, job };
  };

  test('/cancel <id> cancels that job only; an id that is not ours is refused clearly', async () => {
    const first = await queued(BOB, 'first of two');
    const second = await queued(BOB, 'second of two');
    assert.equal((await h.answerTo(h.say(BOB, `/cancel ${first.job.requestId}`))).text, 'Cancelled.');
    await h.waitForText(first.status, /^🚫 Cancelled\.$/);
    assert.deepEqual((await h.jobs()).map((j) => j.requestId), [second.job.requestId], 'the other job is still queued');
    assert.match(second.status.text ?? '', /^⏳ Queued/);
    assert.equal((await h.answerTo(h.say(BOB, '/cancel ../../etc/passwd'))).text, 'That is not a video of this bot: the button or id is not valid.');
    assert.equal((await h.answerTo(h.say(BOB, `/cancel ${second.job.requestId}`))).text, 'Cancelled.');
  });

  test('a forged Cancel pressed on another status message cancels its own job but rewrites only that job\'s message', async () => {
    const one = await queued(ALICE, 'job one');
    const two = await queued(ALICE, 'job two');
    const press = h.server.pressButton({ chatId: ALICE.id, messageId: two.status.messageId, from: ALICE, data: `cancel:${one.job.requestId}`, force: true });
    await h.server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.id);
    await h.waitForText(one.status, /^🚫 Cancelled\.$/);
    await h.server.waitForIdle();
    assert.match(two.status.text ?? '', /^⏳ Queued/, 'the pressed message belongs to another job: untouched');
    assert.deepEqual(two.status.replyMarkup, { inline_keyboard: [[{ text: 'Cancel', callback_data: `cancel:${two.job.requestId}` }]] });
    assert.deepEqual((await h.jobs()).map((j) => j.requestId), [two.job.requestId]);
    h.server.pressButton({ chatId: ALICE.id, messageId: two.status.messageId, from: ALICE, text: 'Cancel' });
    await h.waitForText(two.status, /^🚫 Cancelled\.$/);
  });

  test('a button whose job id is not one of our UUIDs is refused to the presser, and nothing changes', async () => {
    const mine = await queued(ALICE, 'forged id target');
    for (const data of ['cancel:abc', 'cancel:../../x', `reroll:${mine.job.requestId}x`]) {
      const press = h.server.pressButton({ chatId: ALICE.id, messageId: mine.status.messageId, from: ALICE, data, force: true });
      await h.server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.id);
      assert.equal(h.server.callbackAnswer(press.id)?.text, 'That is not a video of this bot: the button or id is not valid.', data);
      assert.equal(h.server.callbackAnswer(press.id)?.showAlert, true, data);
    }
    assert.match(mine.status.text ?? '', /^⏳ Queued/);
    assert.equal((await h.jobs()).length, 1);
    h.server.pressButton({ chatId: ALICE.id, messageId: mine.status.messageId, from: ALICE, text: 'Cancel' });
    await h.waitForText(mine.status, /^🚫 Cancelled\.$/);
  });

  test('a forged Reroll of someone else\'s job from another chat is refused; nothing is queued', async () => {
    const alices = await queued(ALICE, 'alice private prompt');
    const bobsHelp = await h.answerTo(h.say(BOB, '/help'));
    const press = h.server.pressButton({ chatId: BOB.id, messageId: bobsHelp.messageId, from: BOB, data: `reroll:${alices.job.requestId}`, force: true });
    await h.server.waitForCall('answerCallbackQuery', (c) => c.params.callback_query_id === press.id);
    assert.equal(h.server.callbackAnswer(press.id)?.text, 'You can only reroll your own videos, or videos made in this chat.');
    assert.equal(h.server.callbackAnswer(press.id)?.showAlert, true);
    assert.deepEqual((await h.jobs()).map((j) => j.user.id), [String(ALICE.id)], 'no copy of the prompt was queued for Bob');
    assert.equal(h.server.botMessages(BOB.id).filter((m) => /Queu/.test(m.text ?? '')).length, 0);
    h.server.pressButton({ chatId: ALICE.id, messageId: alices.status.messageId, from: ALICE, text: 'Cancel' });
    await h.waitForText(alices.status, /^🚫 Cancelled\.$/);
  });

  test('two anonymous admins in two groups are two users: quotas and /cancel stay apart', async () => {
    const anonymously = (chatId: number, title: string, text: string) =>
      h.server.sendUserMessage({ from: ANONYMOUS, text, chatType: 'supergroup', chatId, chatTitle: title, senderChat: { id: chatId, type: 'supergroup', title } });
    const inA = await h.answerTo(anonymously(GROUP_ID, 'Video lab', '/gen@fakebot a lighthouse for group A'));
    const inB = await h.answerTo(anonymously(OTHER_GROUP_ID, 'Other lab', '/gen@fakebot a forest for group B'));
    await h.waitForText(inA, /^⏳ Queued/);
    await h.waitForText(inB, /^⏳ Queued/);
    const owners = (await h.jobs()).map((j) => [j.prompt, j.user.id, j.user.name]).sort();
    assert.deepEqual(owners, [
      ['a forest for group B', String(OTHER_GROUP_ID), 'Other lab'],
      ['a lighthouse for group A', String(GROUP_ID), 'Video lab'],
    ]);
    assert.equal((await h.answerTo(anonymously(OTHER_GROUP_ID, 'Other lab', '/cancel@fakebot'))).text, 'Cancelled.', 'one video, not both');
    await h.waitForText(inB, /^🚫 Cancelled\.$/);
    assert.deepEqual((await h.jobs()).map((j) => j.prompt), ['a lighthouse for group A']);
    assert.equal((await h.answerTo(anonymously(GROUP_ID, 'Video lab', '/cancel@fakebot'))).text, 'Cancelled.');
  });

  test('/gpu status asked in a group is answered in the admin\'s private chat; without one, the group gets a pointer only', async () => {
    await h.answerTo(h.say(ADMIN, '/help')); // ADMIN has a private chat with the bot
    const asked = h.say(ADMIN, '/gpu@fakebot status', true);
    const privately = await h.server.waitForMessage((m) => m.chatId === ADMIN.id && /Queue: \d+ waiting/.test(m.text ?? ''));
    assert.match(privately.text ?? '', /Redis: ok/);
    // OPS never wrote to the bot: it cannot open that chat, and says so in the group without the status.
    const pointer = await h.answerTo(h.say(OPS, '/gpu@fakebot status', true));
    assert.equal(pointer.text, 'I answer this only in a private chat: message me directly (@fakebot) and ask there.');
    await h.server.waitForIdle();
    assert.ok(!h.server.botMessages(GROUP_ID).some((m) => /Queue:|Redis:/.test(m.text ?? '')), 'no fleet status in the group');
    assert.equal(h.server.botMessages(GROUP_ID).some((m) => m.message.reply_to_message?.message_id === asked.message_id), false);
  });
});

// Reading Discord back for a clip an earlier attempt may have posted through the channel (the interaction's token
// gone): found, not found, found a page further back, and "cannot tell" when the channel cannot be read.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { REST } from '@discordjs/rest';
import { Routes } from 'discord-api-types/v10';
import { findPostedClip, snowflakeAt } from '../../src/platforms/discord/discord-find-posted.ts';
import type { DiscordTarget } from '../../src/platforms/discord/discord-target.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';

const TOKEN = 'fake-discord-bot-token';

describe('finding a clip posted by an earlier attempt', () => {
  let server: FakeDiscordServer;
  let rest: REST;
  let target: DiscordTarget;

  before(async () => {
    server = new FakeDiscordServer({ token: TOKEN });
    const { api } = await server.start();
    rest = new REST({ api }).setToken(TOKEN);
    target = { applicationId: server.applicationId, interactionToken: 'gone', tokenExpiresAt: Date.now() - 1, channelId: server.channelId, guildId: server.guildId, attachmentSizeLimit: 10 << 20 };
  });
  after(() => server.stop());

  const post = (content: string, fileName?: string) =>
    rest.post(Routes.channelMessages(server.channelId), { body: { content }, files: fileName ? [{ name: fileName, data: Buffer.from('mp4 bytes'), contentType: 'video/mp4' }] : [] });

  test('the clip posted in the channel after the claim is found, with its message', async () => {
    const claimedAt = Date.now();
    await post('chatter');
    await post('<@1> your video is ready', 'cogcast-job-a.mp4');
    const found = await findPostedClip(rest, target, 'cogcast-job-a.mp4', claimedAt, false);
    assert.equal(found.kind, 'found');
    assert.equal(found.kind === 'found' && found.via, 'channel');
    assert.equal(found.kind === 'found' && found.message.attachments[0]?.filename, 'cogcast-job-a.mp4');
  });

  test('another job\'s clip is not ours: not found', async () => {
    const claimedAt = Date.now();
    await post('<@1> your video is ready', 'cogcast-job-b.mp4');
    assert.deepEqual(await findPostedClip(rest, target, 'cogcast-job-c.mp4', claimedAt, false), { kind: 'not_found' });
  });

  test('a clip more than a page of messages back is still found', async () => {
    const claimedAt = Date.now();
    await post('<@1> your video is ready', 'cogcast-job-d.mp4');
    for (let i = 0; i < 105; i++) await post(`chatter ${i}`);
    const found = await findPostedClip(rest, target, 'cogcast-job-d.mp4', claimedAt, false);
    assert.equal(found.kind, 'found');
  });

  test('a channel the bot cannot read: cannot tell, so the caller posts with a note', async () => {
    const found = await findPostedClip(rest, { ...target, channelId: '123456789012345678' }, 'cogcast-job-e.mp4', Date.now(), false);
    assert.equal(found.kind, 'unknown');
  });

  test('snowflakeAt gives the cursor Discord compares message ids with', () => {
    const at = Date.now();
    const id = BigInt(snowflakeAt(at));
    assert.equal(Number(id >> 22n) + 1420070400000, at);
  });
});

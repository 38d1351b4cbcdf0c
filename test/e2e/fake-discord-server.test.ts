/** Proves FakeDiscordServer is faithful enough for the real discord.js v14 client: login, interactions, uploads, expiry, rate limits, raw gateway protocol. */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { test, type TestContext } from 'node:test';
import zlib from 'node:zlib';
import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  Routes,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type TextChannel,
} from 'discord.js';
import { WebSocket } from 'ws';
import { FakeDiscordServer, type FakeDiscordServerOptions } from '../fakes/discord/fake-discord-server.ts';

const TOKEN = 'fake-bot-token';
const alice = { id: '222222222222222222', username: 'alice' };
const LOADING = 1 << 7;

/** Starts a fake and a real client logged into it; both are torn down after the test, client first so it does not reconnect. */
async function connect(t: TestContext, options: FakeDiscordServerOptions = {}) {
  const server = new FakeDiscordServer({ token: TOKEN, ...options });
  const { api } = await server.start();
  const client = new Client({ intents: [GatewayIntentBits.Guilds], rest: { api } });
  t.after(async () => {
    await client.destroy();
    await server.stop();
  });
  const ready = once(client, Events.ClientReady);
  await client.login(TOKEN);
  await ready;
  return { server, client };
}

/** Routes every interaction to the test's current handler, recording failures so assertions can see them. */
function onInteraction(client: Client, handler: (interaction: Interaction) => Promise<void>): { errors: unknown[] } {
  const errors: unknown[] = [];
  client.on(Events.InteractionCreate, (interaction) => {
    handler(interaction).catch((error: unknown) => errors.push(error));
  });
  return { errors };
}

const isApiError = (code: number, status: number) => (error: unknown) => error instanceof DiscordAPIError && error.code === code && error.status === status;

test('logs in through /gateway/bot, caches the fake guild, heartbeats, registers commands', async (t) => {
  const { server, client } = await connect(t, { heartbeatIntervalMs: 150 });

  const gatewayBot = server.requests.find((c) => c.method === 'GET' && c.path === '/gateway/bot');
  assert.equal(gatewayBot?.headers.authorization, `Bot ${TOKEN}`);
  // The upgrade path only exists in the /gateway/bot answer, and no compression was negotiated.
  const [conn] = server.gatewayConnections;
  assert.equal(conn?.url, '/gateway?v=10&encoding=json');
  assert.equal(conn?.identify?.intents, GatewayIntentBits.Guilds);
  assert.equal(conn?.identify?.token, TOKEN);

  assert.equal(client.user?.id, server.bot.id);
  assert.equal(client.application?.id, server.applicationId);
  const guild = client.guilds.cache.get(server.guildId);
  assert.ok(guild?.channels.cache.get(server.channelId)?.isTextBased());
  assert.equal(guild?.roles.cache.get(server.roleId('Moderator'))?.name, 'Moderator');

  // ws.ping only turns non-negative after an op 11 HEARTBEAT_ACK answered the client's op 1.
  await server.waitFor(() => client.ws.ping >= 0, 3_000);

  await client.application?.commands.set(
    [{ name: 'video', description: 'Generate a short video', options: [{ type: 3, name: 'prompt', description: 'What to film', required: true }] }],
    server.guildId,
  );
  const [command] = server.commands(server.guildId) as { name: string; id: string }[];
  assert.equal(command?.name, 'video');
  await assert.rejects(client.application!.commands.set([{ name: 'Bad Name', description: 'x' }]), isApiError(50035, 400));
});

test('slash command: deferReply then editReply with embed + file + button; pressing the button reaches the handler', async (t) => {
  const { server, client } = await connect(t);
  // CRLF and "--" inside the payload would break a sloppy multipart parser.
  const video = Buffer.concat([Buffer.from('\r\n--\r\n'), randomBytes(4096)]);
  let pressed: ButtonInteraction | undefined;
  let prompt: string | null = null;
  const { errors } = onInteraction(client, async (interaction) => {
    if (interaction.isChatInputCommand()) {
      prompt = interaction.options.getString('prompt');
      await interaction.deferReply();
      const row = new ActionRowBuilder<ButtonBuilder>().addComponents(new ButtonBuilder().setCustomId('regenerate').setLabel('Again').setStyle(ButtonStyle.Primary));
      await interaction.editReply({
        embeds: [new EmbedBuilder().setTitle('Your video').setDescription(prompt ?? '')],
        files: [{ attachment: video, name: 'clip.mp4' }],
        components: [row],
      });
    } else if (interaction.isButton()) {
      pressed = interaction;
      await interaction.update({ content: 'Regenerating…', components: [] });
    }
  });

  const { id, token } = await server.sendSlashCommand({ user: alice, roles: [server.roleId('Member')], commandName: 'video', options: [{ name: 'prompt', value: 'a cat surfing', type: 3 }] });
  const edit = await server.waitForRequest((c) => c.method === 'PATCH' && c.path.endsWith(`/${token}/messages/@original`));
  assert.deepEqual(errors, []);
  assert.equal(prompt, 'a cat surfing');

  const state = server.interaction(id);
  assert.equal(state?.responseType, 5);
  assert.equal(state?.deferred, true);
  assert.equal(state?.ephemeral, false);
  assert.equal(edit.status, 200);
  assert.equal(edit.files[0]?.field, 'files[0]');
  assert.equal(edit.files[0]?.filename, 'clip.mp4');
  assert.ok(edit.files[0]?.data.equals(video), 'multipart bytes arrive intact');

  const original = state?.original;
  assert.ok(original);
  assert.equal(original.embeds[0]?.title, 'Your video');
  assert.equal(original.components?.length, 1);
  const [attachment] = original.attachments;
  assert.equal(attachment?.size, video.length);
  assert.equal(attachment?.content_type, 'video/mp4');
  assert.ok(server.attachmentBytes(attachment!.id)?.equals(video));
  assert.ok(Buffer.from(await (await fetch(attachment!.url)).arrayBuffer()).equals(video), 'attachment URL serves the bytes');
  assert.deepEqual(
    state?.originalHistory.map((m) => (m.flags ?? 0) & LOADING),
    [LOADING, 0],
    'deferred placeholder, then the edit',
  );

  const press = await server.pressButton({ user: alice, messageId: original.id, customId: 'regenerate' });
  await server.waitFor(() => server.interaction(press.id)?.acknowledged);
  assert.deepEqual(errors, []);
  assert.equal(pressed?.customId, 'regenerate');
  assert.equal(pressed?.user.id, alice.id);
  assert.equal(pressed?.message.id, original.id);
  assert.equal(server.interaction(press.id)?.responseType, 7);
  assert.equal(server.message(original.id)?.content, 'Regenerating…');
  assert.deepEqual(server.message(original.id)?.components, []);
  await assert.rejects(server.pressButton({ user: alice, messageId: original.id, customId: 'regenerate' }), /no button/);
});

test('interaction token lifecycle: 40060 on a second callback, 10062 after 3 s, 50027 after 15 min; channel.send still works', async (t) => {
  const { server, client } = await connect(t);
  const seen = new Map<string, ChatInputCommandInteraction>();
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    seen.set(interaction.id, interaction);
    if (interaction.commandName === 'video') await interaction.reply({ content: 'Queued', flags: MessageFlags.Ephemeral });
  });

  const first = await server.sendSlashCommand({ user: alice, commandName: 'video' });
  await server.waitFor(() => server.interaction(first.id)?.acknowledged);
  assert.equal(server.interaction(first.id)?.ephemeral, true);
  assert.equal(((server.interaction(first.id)?.original?.flags ?? 0) & MessageFlags.Ephemeral) !== 0, true);
  // discord.js refuses a second reply itself, so go through its REST client to see Discord's answer.
  await assert.rejects(
    client.rest.post(Routes.interactionCallback(first.id, first.token), { body: { type: 4, data: { content: 'again' } }, auth: false }),
    isApiError(40060, 400),
  );

  const slow = await server.sendSlashCommand({ user: alice, commandName: 'slow' });
  const slowInteraction = await server.waitFor(() => seen.get(slow.id));
  server.advanceTime(3_001);
  await assert.rejects(slowInteraction.reply('too late'), isApiError(10062, 404));

  server.advanceTime(15 * 60_000);
  const interaction = seen.get(first.id)!;
  await assert.rejects(interaction.followUp('Your video is ready'), isApiError(50027, 401));

  const channel = (await client.channels.fetch(server.channelId, { force: true })) as TextChannel;
  const sent = await channel.send({ content: `<@${alice.id}> your video is ready`, files: [{ attachment: Buffer.from('mp4'), name: 'late.mp4' }] });
  assert.equal(server.message(sent.id)?.content, `<@${alice.id}> your video is ready`);
  assert.equal(server.message(sent.id)?.attachments[0]?.filename, 'late.mp4');
  assert.ok(server.requests.some((c) => c.method === 'GET' && c.path === `/channels/${server.channelId}` && c.status === 200));

  // expireToken kills a token without moving the clock.
  const third = await server.sendSlashCommand({ user: alice, commandName: 'slow' });
  const thirdInteraction = await server.waitFor(() => seen.get(third.id));
  server.expireToken(third.token);
  await assert.rejects(thirdInteraction.deferReply(), isApiError(10062, 404));
});

test('injected 429s (bucket and global) and 5xx are retried by discord.js; oversize uploads get 413/40005', async (t) => {
  const { server, client } = await connect(t);
  const rateLimited: { global: boolean; route: string }[] = [];
  client.rest.on('rateLimited', (info) => rateLimited.push({ global: info.global, route: info.route }));
  onInteraction(client, async (interaction) => {
    if (!interaction.isChatInputCommand()) return;
    await interaction.deferReply();
    await interaction.editReply('done');
  });

  server.failNext('PATCH /webhooks/:app/:token/messages/@original', { retryAfter: 0.3 });
  const { id, token } = await server.sendSlashCommand({ user: alice, commandName: 'video' });
  await server.waitFor(() => server.interaction(id)?.original?.content === 'done');
  const edits = server.requests.filter((c) => c.method === 'PATCH' && c.path.includes(token));
  assert.deepEqual(edits.map((c) => c.status), [429, 200]);
  assert.deepEqual(edits[0]?.response, { message: 'You are being rate limited.', retry_after: 0.3, global: false });
  assert.ok(edits[1]!.at - edits[0]!.at >= 290, 'client waited out Retry-After');
  // discord.js names buckets by the encoded path it sent, hence %40original.
  assert.ok(rateLimited.some((r) => !r.global && r.route === '/webhooks/:id/:token/messages/%40original'));

  const channel = client.channels.cache.get(server.channelId) as TextChannel;
  server.failNext('POST /channels/:channel/messages', { retryAfter: 0.2, global: true });
  server.failNextWithServerError('POST /channels/:channel/messages', { status: 502 });
  const sent = await channel.send('after failures');
  const posts = server.requests.filter((c) => c.method === 'POST' && c.path === `/channels/${server.channelId}/messages`);
  assert.deepEqual(posts.map((c) => c.status), [429, 502, 200]);
  assert.ok(rateLimited.some((r) => r.global));
  assert.equal(server.message(sent.id)?.content, 'after failures');

  // A bucket 429 holds that bucket, as on Discord: a client ignoring Retry-After is refused again until it resets.
  server.failNext('POST /channels/:channel/messages', { retryAfter: 5 });
  const raw = () =>
    fetch(`${client.options.rest?.api}/v10/channels/${server.channelId}/messages`, {
      method: 'POST',
      headers: { authorization: `Bot ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'ignoring Retry-After' }),
    });
  assert.equal((await raw()).status, 429);
  const again = await raw();
  assert.equal(again.status, 429, 'the bucket is still held');
  assert.equal(again.headers.get('x-ratelimit-remaining'), '0');
  assert.ok(Number(again.headers.get('retry-after')) > 0);
  assert.equal(server.messages(server.channelId).filter((m) => m.content === 'ignoring Retry-After').length, 0);

  server.setAttachmentSizeLimit(1024);
  await assert.rejects(channel.send({ files: [{ attachment: Buffer.alloc(2048), name: 'big.mp4' }] }), isApiError(40005, 413));
  const limited = await server.sendSlashCommand({ user: alice, commandName: 'video' });
  assert.equal(server.interaction(limited.id)?.payload.attachment_size_limit, 1024);
});

test('raw gateway: zlib-stream HELLO and heartbeat ACK, Discord close codes', async (t) => {
  const server = new FakeDiscordServer({ token: TOKEN });
  const { gatewayUrl } = await server.start();
  t.after(() => server.stop());

  const ws = new WebSocket(`${gatewayUrl}?v=10&encoding=json&compress=zlib-stream`);
  const received: { op: number }[] = [];
  let compressed = Buffer.alloc(0);
  let decodedLength = 0;
  ws.on('message', (data: Buffer) => {
    // One inflate context over the whole stream; each frame ends on a sync flush, so this decodes cleanly.
    compressed = Buffer.concat([compressed, data]);
    const text = zlib.inflateSync(compressed, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).toString('utf8');
    received.push(JSON.parse(text.slice(decodedLength)) as { op: number });
    decodedLength = text.length;
  });
  await once(ws, 'open');
  await server.waitFor(() => received.find((p) => p.op === 10));
  ws.send(JSON.stringify({ op: 1, d: null }));
  await server.waitFor(() => received.find((p) => p.op === 11));
  ws.send(JSON.stringify({ op: 3, d: { status: 'online' } }));
  const [code] = (await once(ws, 'close')) as [number];
  assert.equal(code, 4003, 'presence before IDENTIFY is not authenticated');

  const badToken = new WebSocket(`${gatewayUrl}?v=10&encoding=json`);
  await once(badToken, 'open');
  badToken.send(JSON.stringify({ op: 2, d: { token: 'wrong', intents: 1, properties: {} } }));
  const [badCode] = (await once(badToken, 'close')) as [number];
  assert.equal(badCode, 4004);
});

// Discord end to end: the real bot (discord.js) and a real worker (tiny engine) against the fake Discord on loopback.
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, afterEach, before, describe, test } from 'node:test';
import type { Job } from 'bullmq';
import type { APIMessage } from 'discord-api-types/v10';
import { loadPresets } from '../../config/presets.ts';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import { registerCommands } from '../../src/platforms/discord/register-commands.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { userSettingsStore } from '../../src/core/user-settings.ts';
import { type JobRequest, type JobResult, jobResultSchema } from '../../src/queue/job-contract.ts';
import { DiscordDelivery } from '../../src/platforms/discord/discord-delivery.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { probeVideo } from '../helpers/ffprobe.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const TOKEN = 'fake-discord-bot-token';
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const alice = { id: '300000000000000001', username: 'alice' };
const bob = { id: '300000000000000002', username: 'bob' };
const mod = { id: '300000000000000003', username: 'mod' };
const dave = { id: '300000000000000004', username: 'dave' };
const erin = { id: '300000000000000005', username: 'erin' };
const carol = { id: '300000000000000006', username: 'carol' };

const STRING = 3;
const INTEGER = 4;

/** The custom ids of the buttons on a message, row by row. */
function buttonIds(message: APIMessage): string[] {
  const rows = (message.components ?? []) as unknown as { components?: { custom_id?: string }[] }[];
  return rows.flatMap((row) => (row.components ?? []).map((c) => c.custom_id ?? ''));
}

/** Polls an async condition (Redis state) until it holds. */
async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('Discord bot end to end', () => {
  let t: TestConfig;
  let server: FakeDiscordServer;
  let services: ReturnType<typeof createCommandServices>;
  let worker: RunningWorker;
  let bot: RunningDiscordBot;

  before(async () => {
    server = new FakeDiscordServer({ token: TOKEN });
    const { api } = await server.start();
    t = testConfig({
      QUOTA_MAX_PENDING_PER_USER: '5',
      QUOTA_MAX_JOBS_PER_HOUR: '100',
      DISCORD_TOKEN: TOKEN,
      DISCORD_API_BASE: api,
      DISCORD_GUILD_ID: server.guildId,
      DISCORD_ADMIN_ROLE_IDS: server.roleId('Moderator'),
      ADMIN_IDS: `telegram:1,discord:${dave.id}`,
      // The bot's status writer paces edits per channel together with the worker's.
      DISCORD_EDIT_PACE_MS: '300',
    });
    services = createCommandServices(t.config);
    const delivery = new DiscordDelivery({ token: TOKEN, apiBase: api, workDir: join(t.tmp, 'discord'), progressIntervalMs: 300 });
    worker = await startVideoWorker(t.config, { deliveries: [delivery] });
    bot = await startDiscordBot(t.config, services);
  });
  // A failed test must not leave the engine frozen for the next one.
  afterEach(() => void worker?.engine.kill('SIGCONT'));
  after(async () => {
    await bot?.stop();
    await worker?.close();
    await services?.close();
    await server?.stop();
    await t?.cleanup();
  });

  const jobOf = async (token: string): Promise<Job<JobRequest, JobResult> | undefined> => {
    const jobs = await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
    return jobs.find((j) => j.data.delivery.target.interactionToken === token) as Job<JobRequest, JobResult> | undefined;
  };
  const jobsOfUser = async (userId: string) => (await services.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed'])).filter((j) => j.data.user.id === userId);
  const video = (user: typeof alice, prompt: string, extra: { name: string; value: string | number; type: number }[] = []) =>
    server.sendSlashCommand({ user, roles: [server.roleId('Member')], commandName: 'video', options: [{ name: 'prompt', value: prompt, type: STRING }, ...extra] });
  const withAttachment = (token: string) => () => {
    const original = server.interaction(token)?.original;
    return original && original.attachments.length > 0 ? original : undefined;
  };
  /**
   * The tiny engine takes ~15 ms a step, faster than a button press travels: freeze it (SIGSTOP) at the first
   * step of the job with this prompt, so the test can act while the job is surely running; thaw() resumes it.
   */
  function freezeAtFirstStep(prompt: string): { frozen: Promise<void>; thaw(): void } {
    let onProgress: (job: Job, data: unknown) => void = () => undefined;
    const frozen = new Promise<void>((resolve) => {
      onProgress = (job, data) => {
        if (job.data.prompt !== prompt || (data as { stage?: string }).stage !== 'generating') return;
        worker.worker.off('progress', onProgress);
        worker.engine.kill('SIGSTOP');
        resolve();
      };
      worker.worker.on('progress', onProgress);
    });
    // Bounded: a job that never reports a step fails the test instead of hanging it.
    const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no generating step of "${prompt}" within 60 s`)), 60_000).unref());
    return { frozen: Promise.race([frozen, timeout]), thaw: () => worker.engine.kill('SIGCONT') };
  }
  async function assertPlayableClip(message: APIMessage): Promise<void> {
    const [attachment] = message.attachments;
    assert.equal(attachment?.content_type, 'video/mp4');
    const bytes = server.attachmentBytes(attachment!.id);
    assert.ok(bytes && bytes.length === attachment!.size);
    const path = join(t.tmp, `${attachment!.id}.mp4`);
    await writeFile(path, bytes);
    assert.deepEqual(await probeVideo(path), { codec: 'h264', width: 64, height: 32, pixFmt: 'yuv420p', frames: 9, fps: 8 });
  }

  test('registration: /video with length-limited prompt and preset choices, /gpu status with default permissions', async () => {
    const { scope } = await registerCommands(t.config, loadPresets(t.config.PRESETS_FILE));
    assert.deepEqual(scope, { guildId: server.guildId });
    const registered = server.commands(server.guildId) as { name: string; default_member_permissions: string | null; options: Record<string, unknown>[] }[];
    const videoCmd = registered.find((c) => c.name === 'video');
    const prompt = videoCmd?.options.find((o) => o.name === 'prompt');
    assert.equal(prompt?.required, true);
    assert.equal(prompt?.max_length, t.config.PROMPT_MAX_CHARS);
    const preset = videoCmd?.options.find((o) => o.name === 'preset') as { choices: { value: string }[] } | undefined;
    assert.deepEqual(preset?.choices.map((c) => c.value), ['tiny', 'tiny-slow']);
    assert.equal(videoCmd?.options.find((o) => o.name === 'seed')?.type, INTEGER);
    const gpu = registered.find((c) => c.name === 'gpu');
    assert.equal(gpu?.default_member_permissions, String(1 << 5), 'Manage Server');
    assert.deepEqual((gpu?.options ?? []).map((o) => [o.type, o.name]), [[1, 'status']]);
    assert.deepEqual(server.commands(), [], 'nothing registered globally when a guild is configured');

    await registerCommands({ ...t.config, DISCORD_GUILD_ID: '' }, loadPresets(t.config.PRESETS_FILE));
    assert.deepEqual((server.commands() as { name: string }[]).map((c) => c.name), ['video', 'settings', 'gpu']);
  });

  test('/video: deferred at once, edited with queue and progress, then the MP4 with a stats embed and Reroll; a 429 on an edit is waited out', async () => {
    const engine = freezeAtFirstStep('a red fox in the snow');
    // Held in the queue until its place was shown: an idle worker would take it within milliseconds, and the
    // worker's first edit rightly replaces the queued state before it was ever posted. (The queue is paused, not the
    // worker: a worker already waiting for a job may still take one after worker.pause().)
    await services.queue.primary.queue.pause();
    const { id, token } = await video(alice, 'a red fox in the snow', [{ name: 'seed', value: 7, type: INTEGER }]);
    try {
      await server.waitFor(() => server.interaction(id)?.originalHistory.some((m) => m.content.startsWith('Queued')), 10_000);
    } finally {
      await services.queue.primary.queue.resume();
    }
    await engine.frozen;
    // The worker's next edit of this message (progress or the upload) is rate limited once.
    server.failNext(`PATCH /webhooks/:app/${token}/messages/@original`, { retryAfter: 0.4 });
    engine.thaw();
    const final = await server.waitFor(withAttachment(token), 60_000);

    const state = server.interaction(id)!;
    assert.equal(state.callbacks[0]?.type, 5, 'deferred (type 5) as the first answer');
    assert.equal(state.ephemeral, false, 'the job lives in the channel');
    const history = state.originalHistory;
    assert.ok((history[0]!.flags ?? 0) & LOADING, 'the "thinking…" placeholder came first');
    const queued = history.find((m) => m.content.startsWith('Queued'));
    assert.match(queued?.content ?? '', /^Queued: #\d+ in line, ready in about .+\ntiny · seed 7$/);
    assert.ok(history.some((m) => /Starting|Generating · step \d\/2|Encoding|Uploading/.test(m.content)), 'progress edits');

    assert.match(final.content, /Done/);
    const job = (await jobOf(token))!;
    const embed = final.embeds[0];
    assert.equal(embed?.title, 'a red fox in the snow');
    assert.match(embed?.description ?? '', /^tiny · 64x32 · 9 frames @ 8 fps · 2 steps · seed 7\n/);
    assert.match(embed?.description ?? '', /denoise .* s/);
    assert.deepEqual(buttonIds(final), [`reroll:${job.id}`]);
    await assertPlayableClip(final);

    // Once the upload was timed, the embed is edited again with the upload time; the clip stays on the message.
    const timed = await server.waitFor(() => {
      const m = server.message(final.id);
      return /VAE [\d.]+ s · MP4 [\d.]+ s · upload [\d.]+ s/.test(m?.embeds[0]?.description ?? '') ? m : undefined;
    }, 10_000);
    assert.equal(timed.attachments.length, 1, 'the clip is still attached');
    assert.deepEqual(buttonIds(timed), [`reroll:${job.id}`]);
    assert.doesNotMatch(embed?.description ?? '', /upload/, 'the embed posted with the clip could not know its upload time');

    const edits = server.requests.filter((c) => c.method === 'PATCH' && c.path.includes(token));
    assert.ok(edits.some((c) => c.status === 429), 'one edit was rate limited');
    assert.equal(edits.at(-1)?.status, 200);
    const uploads = edits.filter((c) => c.files.length > 0 && c.status === 200);
    assert.deepEqual(uploads.map((c) => c.files[0]?.filename), [`cogcast-${job.id}.mp4`], 'one upload');
    // Interaction webhooks are authorised by their own token: the bot token is never sent there or queued.
    assert.ok(edits.every((c) => c.headers.authorization === undefined));
    assert.ok(!JSON.stringify(job.data).includes(TOKEN));

    const result = jobResultSchema.parse(await eventually(async () => (await services.queue.primary.queue.getJob(job.id!))?.returnvalue, 10_000, 'job result'));
    assert.equal(result.receipt.via, 'interaction');
    assert.equal(result.receipt.messageId, final.id);
    assert.equal(result.stats.seed, 7);
  });

  test('Reroll: same prompt and preset, a new seed, its own message with its own clip', async () => {
    const first = server.interactions().find((i) => i.original?.embeds[0]?.title === 'a red fox in the snow' && i.type === 2);
    assert.ok(first?.original);
    const firstJob = (await jobOf(first.token))!;
    const press = await server.pressButton({ user: bob, messageId: first.original.id, customId: `reroll:${firstJob.id}` });
    const final = await server.waitFor(withAttachment(press.token), 60_000);
    assert.equal(server.interaction(press.id)?.callbacks[0]?.type, 5);
    assert.notEqual(final.id, first.original.id, 'the original clip stays in place');
    const rerolled = (await jobOf(press.token))!;
    assert.equal(rerolled.data.prompt, firstJob.data.prompt);
    assert.equal(rerolled.data.preset, firstJob.data.preset);
    assert.equal(rerolled.data.rerollOf, firstJob.id);
    assert.equal(rerolled.data.user.id, bob.id, 'the reroll belongs to whoever pressed');
    assert.notEqual(rerolled.data.seed, firstJob.data.seed);
    assert.match(final.embeds[0]?.description ?? '', new RegExp(`seed ${rerolled.data.seed}\\n`));
    await assertPlayableClip(final);
    assert.equal(server.message(first.original.id)?.attachments.length, 1, 'first clip untouched');
  });

  test("Cancel: a stranger's press is refused privately; the owner's stops the running job", async () => {
    const engine = freezeAtFirstStep('a slow sunrise over hills');
    const { token } = await video(alice, 'a slow sunrise over hills', [{ name: 'preset', value: 'tiny-slow', type: STRING }]);
    await engine.frozen;
    const status = await server.waitFor(() => {
      const original = server.interaction(token)?.original;
      return original && /Generating · step \d+\/12\n`[▰▱]{12}` \d+%/.test(original.content) ? original : undefined;
    }, 30_000);
    const job = (await jobOf(token))!;
    assert.deepEqual(buttonIds(status), [`cancel:${job.id}`], 'progress edits keep the Cancel button');

    const stranger = await server.pressButton({ user: bob, messageId: status.id, customId: `cancel:${job.id}` });
    const refusal = await server.waitFor(() => server.interaction(stranger.id)?.followUps[0], 10_000);
    assert.equal(refusal.content, 'You can only cancel your own videos.');
    assert.ok((refusal.flags ?? 0) & EPHEMERAL);
    assert.equal(server.interaction(stranger.id)?.callbacks[0]?.type, 6, 'deferUpdate: the pressed message is left alone');
    assert.ok(['active', 'waiting'].includes(await job.getState()), 'still running');

    const owner = await server.pressButton({ user: alice, messageId: status.id, customId: `cancel:${job.id}` });
    const ack = await server.waitFor(() => server.interaction(owner.id)?.followUps[0], 10_000);
    assert.equal(ack.content, 'Cancelled.');
    assert.ok((ack.flags ?? 0) & EPHEMERAL);
    engine.thaw();
    await eventually(async () => (await job.getState()) === 'failed', 30_000, 'job to fail as cancelled');
    const failed = await services.queue.primary.queue.getJob(job.id!);
    assert.match(failed?.failedReason ?? '', /cancel/);
    const final = await server.waitFor(() => {
      const m = server.message(status.id);
      return m?.content === '✖️ Cancelled.' && m.components?.length === 0 ? m : undefined;
    }, 10_000);
    assert.equal(final.attachments.length, 0);
  });

  test('a job that outlives its interaction token is posted as a channel message mentioning the user', async () => {
    const engine = freezeAtFirstStep('a lantern at dusk');
    const { token } = await video(alice, 'a lantern at dusk', [{ name: 'preset', value: 'tiny-slow', type: STRING }, { name: 'seed', value: 21, type: INTEGER }]);
    await engine.frozen;
    await server.waitFor(() => /Generating/.test(server.interaction(token)?.original?.content ?? ''), 30_000);
    // 15 minutes pass (the fake refuses the token from now on) while the job still runs.
    server.expireToken(token);
    engine.thaw();
    const job = (await jobOf(token))!;
    const posted = await server.waitFor(() => server.messages(server.channelId).find((m) => m.content.startsWith(`<@${alice.id}>`) && m.attachments.length > 0), 60_000);
    assert.match(posted.content, /your video is ready/);
    assert.equal(posted.embeds[0]?.title, 'a lantern at dusk');
    await assertPlayableClip(posted);
    const channelPost = server.requests.find((c) => c.method === 'POST' && c.path === `/channels/${server.channelId}/messages` && c.status === 200);
    assert.deepEqual((channelPost?.body as { allowed_mentions?: unknown }).allowed_mentions, { users: [alice.id] });
    const result = jobResultSchema.parse(await eventually(async () => (await services.queue.primary.queue.getJob(job.id!))?.returnvalue, 10_000, 'job result'));
    assert.equal(result.receipt.via, 'channel');
    assert.equal(result.receipt.messageId, posted.id);
    // The dead token answered 50027 once (a status edit or the upload) and was not used again.
    const rejected = server.requests.filter((c) => c.path.includes(token) && c.status === 401);
    assert.equal(rejected.length, 1);
    assert.equal((rejected[0]?.response as { code: number }).code, 50027);
    assert.ok(server.requests.filter((c) => c.path.includes(token)).at(-1) === rejected[0]);
    assert.equal(server.message(server.interaction(token)!.original!.id)?.content, '✅ Done: the video is posted below.', 'stale status tidied through the bot');
    assert.equal(server.message(server.interaction(token)!.original!.id)?.attachments.length, 0);
  });

  test('/gpu status: refused to a member, answered privately to admins (by role and by ADMIN_IDS)', async () => {
    const refused = await server.sendSlashCommand({ user: bob, roles: [server.roleId('Member')], commandName: 'gpu', subcommand: 'status' });
    const no = await server.waitFor(() => {
      const s = server.interaction(refused.id);
      return s?.original && !((s.original.flags ?? 0) & LOADING) ? s : undefined;
    }, 10_000);
    assert.ok(no.ephemeral);
    assert.equal(no.original?.content, 'Sorry, this command is not available to you.');

    for (const [user, roles] of [
      [mod, [server.roleId('Moderator')]],
      [dave, []],
    ] as const) {
      const asked = await server.sendSlashCommand({ user, roles: [...roles], commandName: 'gpu', subcommand: 'status' });
      const yes = await server.waitFor(() => {
        const s = server.interaction(asked.id);
        return s?.original && !((s.original.flags ?? 0) & LOADING) ? s : undefined;
      }, 10_000);
      assert.ok(yes.ephemeral, `${user.username}: private answer`);
      assert.match(yes.original?.content ?? '', /Queue: \d+ waiting · \d+ active/);
      assert.match(yes.original?.content ?? '', /Redis: ok/);
    }
  });

  test('bad input is answered privately at once and nothing is enqueued', async () => {
    const cases: [string, { name: string; value: string | number; type: number }[], RegExp][] = [
      ['   ', [], /^Please describe the video: the prompt is empty\.$/],
      ['x'.repeat(100_000), [], /^That prompt is too long \(100000 characters\); the limit is 500\.$/],
      ['a cat', [{ name: 'preset', value: 'ultra', type: STRING }], /^Unknown preset "ultra"\. Choose one of: tiny, tiny-slow\.$/],
    ];
    for (const [prompt, extra, expected] of cases) {
      const { id } = await video(erin, prompt, extra);
      const state = await server.waitFor(() => (server.interaction(id)?.acknowledged ? server.interaction(id) : undefined), 10_000);
      assert.deepEqual(state.callbacks.map((c) => c.type), [4], 'answered directly, never deferred in public');
      assert.ok(state.ephemeral);
      assert.match(state.original?.content ?? '', expected);
    }
    assert.deepEqual(await jobsOfUser(erin.id), []);
    assert.deepEqual(await services.quota.pendingJobs(`discord:${erin.id}`), []);
  });

  test('an error found after deferring (quota) replaces the public placeholder with a private answer', async () => {
    for (let i = 0; i < 5; i++) await services.quota.reserve(`discord:${carol.id}`, `held-${i}`);
    const { id } = await video(carol, 'one more please');
    const state = await server.waitFor(() => server.interaction(id)?.followUps[0] && server.interaction(id), 10_000);
    assert.equal(state.callbacks[0]?.type, 5);
    assert.ok(state.originalDeleted, 'the public "thinking…" message is gone');
    assert.match(state.followUps[0]?.content ?? '', /^You already have 5 videos in the queue \(limit 5\)/);
    assert.ok((state.followUps[0]?.flags ?? 0) & EPHEMERAL);
    assert.deepEqual(await jobsOfUser(carol.id), []);
  });

  test('/settings: select menus, one per setting; a pick stores that one value for the picker', async () => {
    const asked = await server.sendSlashCommand({ user: erin, roles: [server.roleId('Member')], commandName: 'settings' });
    const panel = await server.waitFor(() => server.interaction(asked.id)?.original?.components?.length ? server.interaction(asked.id)!.original! : undefined, 10_000);
    assert.ok((panel.flags ?? 0) & EPHEMERAL, 'only the user sees the panel');
    const menus = (panel.components as { components: { type: number; custom_id: string; options: { value: string; default?: boolean }[] }[] }[]).map((row) => row.components[0]!);
    assert.deepEqual(menus.map((m) => [m.type, m.custom_id, m.options.map((o) => o.value)]), [
      [3, 'settings:preset=', ['tiny', 'tiny-slow']],
      [3, 'settings:language=', ['en', 'zh-CN', 'ru']],
      [3, 'settings:stats=', ['full', 'short']],
    ]);
    const pick = await server.select({ user: erin, roles: [server.roleId('Member')], messageId: panel.id, customId: 'settings:stats=', values: ['short'] });
    const saved = await server.waitFor(() => server.interaction(pick.id)?.followUps[0], 10_000);
    assert.match(saved.content, /^Saved\. Your settings:/);
    assert.ok((saved.flags ?? 0) & EPHEMERAL);
    assert.deepEqual(await userSettingsStore(services).get(`discord:${erin.id}`), { stats: 'short' });
    const updated = (saved.components as { components: { options: { value: string; default?: boolean }[] }[] }[])[2]!.components[0]!.options;
    assert.deepEqual(updated.filter((o) => o.default).map((o) => o.value), ['short'], 'the value in force is preselected');
    await userSettingsStore(services).reset(`discord:${erin.id}`);
  });
});

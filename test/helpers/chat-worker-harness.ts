// Both chat platforms end to end around real worker processes: the fake Discord and Telegram servers with the
// real bots (in this process), the workers' API traffic through holding proxies, and stage holds for the engine
// and ffmpeg, so a test can stop a worker at any point and kill it, cancel, or signal it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Job } from 'bullmq';
import type { APIMessage } from 'discord-api-types/v10';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import type { JobRequest, JobResult } from '../../src/queue/job-contract.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import type { StoredMessage, TgMessage } from '../fakes/telegram/fake-telegram-server.ts';
import { HoldingProxy, type ProxiedRequest } from './holding-proxy.ts';
import { type StageHolds, stageHolds } from './stage-holds.ts';
import { ALICE, type TelegramHarness, telegramHarness } from './telegram-harness.ts';
import { spawnWorkerProcess } from './worker-process.ts';

export const DISCORD_TOKEN = 'fake-discord-bot-token';
export const DISCORD_ALICE = { id: '310000000000000001', username: 'alice' };
const STRING_OPTION = 3;

export interface WorkerProcess {
  child: ChildProcess;
  id: string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface DiscordVideo {
  interactionId: string;
  token: string;
  job: Job<JobRequest, JobResult>;
}

export interface TelegramVideo {
  request: TgMessage;
  status: StoredMessage;
  job: Job<JobRequest, JobResult>;
}

export class ChatWorkerHarness {
  private workers: WorkerProcess[] = [];
  private spawned = 0;

  private constructor(
    readonly tg: TelegramHarness,
    readonly discord: FakeDiscordServer,
    readonly discordBot: RunningDiscordBot,
    /** Between the workers and the fake Discord. */
    readonly discordProxy: HoldingProxy,
    private readonly discordProxyApi: string,
    /** Between the workers and the fake Bot API. */
    readonly telegramProxy: HoldingProxy,
    private readonly telegramProxyRoot: string,
    readonly holds: StageHolds,
  ) {}

  static async start(overrides: Record<string, string> = {}): Promise<ChatWorkerHarness> {
    const discord = new FakeDiscordServer({ token: DISCORD_TOKEN });
    const { api } = await discord.start();
    const tg = await telegramHarness({ DISCORD_TOKEN, DISCORD_API_BASE: api, DISCORD_GUILD_ID: discord.guildId, JOB_ATTEMPTS: '3', JOB_BACKOFF_MS: '200', ...overrides });
    const discordProxy = new HoldingProxy(new URL(api).origin);
    const discordProxyApi = `${await discordProxy.start()}/api`;
    const telegramProxy = new HoldingProxy(tg.server.apiRoot);
    const telegramProxyRoot = await telegramProxy.start();
    await tg.startBot();
    const discordBot = await startDiscordBot(tg.t.config, tg.services);
    return new ChatWorkerHarness(tg, discord, discordBot, discordProxy, discordProxyApi, telegramProxy, telegramProxyRoot, stageHolds(join(tg.t.tmp, 'holds')));
  }

  get config() {
    return this.tg.t.config;
  }
  get queue() {
    return this.tg.services.queue;
  }

  /** Starts a worker process (`npm run worker`'s entry point) whose chat traffic goes through the proxies. */
  spawnWorker(extra: Record<string, string> = {}): WorkerProcess {
    const id = `worker-${++this.spawned}`;
    const child = spawnWorkerProcess(this.config, {
      ...this.holds.env,
      DISCORD_API_BASE: this.discordProxyApi,
      TELEGRAM_API_ROOT: this.telegramProxyRoot,
      WORKER_ID: id,
      WORKER_LOCK_DURATION_MS: '3000',
      WORKER_STALLED_INTERVAL_MS: '1000',
      ...extra,
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const worker = { child, id, stderr: () => stderr, exited };
    this.workers.push(worker);
    return worker;
  }

  /** SIGKILLs a worker process, as the OOM killer or a power cut would, and waits until it is gone. */
  async kill(worker: WorkerProcess): Promise<void> {
    worker.child.kill('SIGKILL');
    await worker.exited;
  }

  /** The live worker process running `job` now (BullMQ's processedBy is the worker's WORKER_ID). */
  async holderOf(job: Job): Promise<WorkerProcess> {
    const fresh = await this.queue.primary.queue.getJob(job.id!);
    const holder = this.workers.find((w) => w.id === fresh?.processedBy && w.child.exitCode === null && w.child.signalCode === null);
    assert.ok(holder, `job ${job.id} is run by a live worker process (processedBy ${fresh?.processedBy})`);
    return holder;
  }

  /** Alice runs /video on Discord; resolves once the job is queued. */
  async discordVideo(prompt: string, preset = 'tiny'): Promise<DiscordVideo> {
    const { id, token } = await this.discord.sendSlashCommand({
      user: DISCORD_ALICE,
      roles: [this.discord.roleId('Member')],
      commandName: 'video',
      options: [
        { name: 'prompt', value: prompt, type: STRING_OPTION },
        { name: 'preset', value: preset, type: STRING_OPTION },
      ],
    });
    const job = await this.jobWhere((j) => j.delivery.target.interactionToken === token);
    return { interactionId: id, token, job };
  }

  /** Alice sends /gen on Telegram; resolves once the job is queued. */
  async telegramVideo(prompt: string, preset = 'tiny'): Promise<TelegramVideo> {
    const request = this.tg.say(ALICE, `/gen ${prompt} | preset=${preset}`);
    const status = await this.tg.answerTo(request, 20_000);
    const job = await this.jobWhere((j) => j.prompt === prompt);
    return { request, status, job };
  }

  async jobWhere(match: (request: JobRequest) => boolean, timeoutMs = 20_000): Promise<Job<JobRequest, JobResult>> {
    return eventually(async () => {
      const jobs = await this.queue.primary.queue.getJobs(['waiting', 'prioritized', 'active', 'delayed', 'completed', 'failed']);
      return jobs.find((j) => match(j.data)) as Job<JobRequest, JobResult> | undefined;
    }, timeoutMs, 'the job to be queued');
  }

  /** Waits until the job is completed or failed for good, and returns it as it ended. */
  async finished(job: Job<JobRequest, JobResult>, timeoutMs = 180_000): Promise<Job<JobRequest, JobResult>> {
    return eventually(
      async () => {
        const state = await this.queue.primary.queue.getJobState(job.id!);
        if (state !== 'completed' && state !== 'failed') return undefined;
        // Read after the state is final, so failedReason, stacktrace and returnvalue are the final ones.
        return (await this.queue.primary.queue.getJob(job.id!)) as Job<JobRequest, JobResult> | undefined;
      },
      timeoutMs,
      `job ${job.id} to finish (${this.workers.map((w) => `${w.id}: ${w.stderr().slice(-400)}`).join(' | ')})`,
    );
  }

  /** The upload requests of this job's clip that reached the fake Discord and were accepted. */
  discordUploads(job: Job): number {
    return this.discord.requests.filter((c) => c.status === 200 && c.files.some((f) => f.filename === `cogcast-${job.id}.mp4`)).length;
  }

  /** Messages in the channel that carry this job's clip. */
  discordClipMessages(job: Job): APIMessage[] {
    return this.discord.messages(this.discord.channelId).filter((m) => m.attachments.some((a) => a.filename === `cogcast-${job.id}.mp4`));
  }

  /** Videos the bot posted in answer to a Telegram request, oldest first. */
  telegramVideos(video: TelegramVideo): StoredMessage[] {
    return this.tg.server.botMessages(video.request.chat.id).filter((m) => m.file !== undefined && m.message.reply_to_message?.message_id === video.request.message_id);
  }

  async close(): Promise<void> {
    this.holds.releaseAll();
    for (const w of this.workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    await Promise.all(this.workers.map((w) => w.exited));
    await this.discordBot.stop().catch(() => undefined);
    await this.discordProxy.stop();
    await this.telegramProxy.stop();
    await this.tg.close();
    await this.discord.stop();
  }
}

/** Is this request the upload of a clip to Discord (only uploads are multipart), to an interaction or a channel? */
export const isDiscordUpload = (req: ProxiedRequest) => req.contentType.startsWith('multipart/form-data') && /\/(webhooks|channels)\//.test(req.path);

/** Is this request a Telegram sendVideo (or sendDocument) call? */
export const isTelegramUpload = (req: ProxiedRequest) => /\/(sendVideo|sendDocument)$/.test(req.path);

/** Polls an async condition until it holds. */
export async function eventually<T>(check: () => Promise<T | undefined | null | false>, timeoutMs = 30_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function assertNothingLeftIn(dir: string): void {
  assert.deepEqual(existsSync(dir) ? readdirSync(dir, { recursive: true }) : [], [], `nothing left in ${dir}`);
}

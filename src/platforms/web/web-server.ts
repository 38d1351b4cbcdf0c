// The web platform's inbound side: an express app in the bot process. Form posts become ChatContexts for the
// same commands/ as chat (quotas, rate limits, texts); /api/events streams the user's jobs (web-job-feed.ts).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import { commands } from '../../../commands/index.ts';
import type { Env } from '../../../config/env.ts';
import type { Reply } from '../../core/chat-context.ts';
import { type Command, type CommandServices, dispatch } from '../../core/command.ts';
import { text } from '../../core/texts.ts';
import { userSettingsStore } from '../../core/user-settings.ts';
import { jobResultSchema, parseJobRequest } from '../../queue/job-contract.ts';
import { DEMO_PRESETS_FILE } from '../../../worker/engine-client/model-resolution.ts';
import { accessGate, checkWebSettings, isLoopback } from './web-access.ts';
import { acceptedJobId, webChatContext } from './web-chat-context.ts';
import { WebClips } from './web-clips.ts';
import { WebIdentity } from './web-identity.ts';
import { WebJobFeed } from './web-job-feed.ts';
import type { WebJobView } from './web-job-view.ts';
import { webOwner } from './web-job-view.ts';
import { renderMessagePage, renderPage } from './web-page.ts';
import { pictureUpload } from './web-upload.ts';

const STATIC_DIR = join(dirname(fileURLToPath(import.meta.url)), 'static');
const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PING_MS = 20_000;

// The video form as a browser (or anyone) may send it: strings only, no other fields.
const videoForm = z
  .object({
    prompt: z.string().optional(),
    preset: z.string().optional(),
    seed: z.union([z.string(), z.number()]).optional(),
    negativePrompt: z.string().optional(),
    csrf: z.string().optional(),
  })
  .strict();
const buttonForm = z.object({ csrf: z.string().optional() }).strict();
// The settings form sends every field: an empty one means "the bot's default" (/settings stores no value for it).
const settingsForm = z
  .object({
    preset: z.string().optional(),
    negativePrompt: z.string().optional(),
    language: z.string().optional(),
    stats: z.string().optional(),
    action: z.literal('reset').optional(),
    csrf: z.string().optional(),
  })
  .strict();

export interface WebPlatformOptions {
  config: Env;
  services: CommandServices;
  log: Logger;
  /** Whether the clips are the demo model's (the page shows the banner); asked on each page load. Default: this
   *  process offers the demo model's presets, which npm start does exactly when its worker runs the demo model. */
  demoModel?: () => boolean;
  /** Where the web cookie key is kept when WEB_COOKIE_SECRET is empty. */
  secretFile?: string;
}

export interface RunningWebPlatform {
  platform: 'web';
  url: string;
  port: number;
  stop(): Promise<void>;
}

export async function startWebPlatform(opts: WebPlatformOptions): Promise<RunningWebPlatform> {
  const { config, services, log } = opts;
  checkWebSettings(config);
  const identity = WebIdentity.load(config.WEB_COOKIE_SECRET, opts.secretFile ?? resolve('var/web-cookie-secret'));
  const clips = new WebClips(services.redis, services.queue);
  const feed = new WebJobFeed(services.queue, config, log);
  await feed.start();
  const outputDir = resolve(config.OUTPUT_DIR);
  const demoModel = opts.demoModel ?? (() => resolve(config.PRESETS_FILE) === resolve(DEMO_PRESETS_FILE));
  const streams = new Set<Response>();

  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use((_req, res, next) => {
    res.set({
      'content-security-policy': "default-src 'self'; img-src 'self' data:; media-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
      'x-content-type-options': 'nosniff',
      'referrer-policy': 'no-referrer',
    });
    next();
  });
  app.use(accessGate(config));
  app.use(express.json({ limit: '1mb' }));
  app.use(express.urlencoded({ extended: false, limit: '1mb' }));

  /** Answers a command's replies: JSON for the page's script, a small page for a form posted without it. */
  const answer = (req: Request, res: Response, replies: readonly Reply[], view: WebJobView | null = null) => {
    const last = replies.at(-1) ?? { kind: 'error' as const, text: text('internal') };
    const status = last.kind === 'error' ? 400 : last.kind === 'accepted' ? 202 : 200;
    if (wantsHtml(req)) {
      res.status(status).type('html').send(renderMessagePage(last.text));
      return;
    }
    res.status(status).json({ ok: last.kind !== 'error', kind: last.kind, text: last.text, ...(view ? { jobId: view.jobId, view } : {}) });
  };
  const refuse = (req: Request, res: Response, status: number, message: string) => {
    if (wantsHtml(req)) {
      res.status(status).type('html').send(renderMessagePage(message));
      return;
    }
    res.status(status).json({ ok: false, kind: 'error', text: message });
  };

  /** The request's user when its form carries the CSRF token of its cookie; else answers and returns null. */
  const formUser = (req: Request, res: Response, csrf: unknown): string | null => {
    const userId = identity.userOf(req);
    const token = req.get('x-csrf-token') ?? csrf;
    if (!userId || !identity.checkCsrf(userId, token)) {
      refuse(req, res, 403, text('web.forged'));
      return null;
    }
    return userId;
  };

  const run = async <I>(command: Command<I>, userId: string, input: unknown) => {
    const ctx = webChatContext(userId);
    await dispatch(command, ctx, input, services);
    const jobId = acceptedJobId(ctx.replies);
    let view: WebJobView | null = null;
    if (jobId) {
      feed.remember(jobId, userId);
      await clips.add(userId, jobId);
      view = await feed.view(jobId).catch(() => null);
    }
    return { replies: ctx.replies, view };
  };

  app.get('/', async (req, res) => {
    const userId = identity.userOrNew(req, res);
    // The settings form shows what is stored; Redis down shows it empty (a save then says the queue is down).
    const settings = await userSettingsStore(services).get(`web:${userId}`).catch(() => ({}));
    res
      .type('html')
      .set('cache-control', 'no-store')
      .send(renderPage({ presets: services.presets, csrf: identity.csrfToken(userId), demoModel: demoModel(), promptMaxChars: config.PROMPT_MAX_CHARS, settings }));
  });
  app.get('/static/:file', (req, res) => {
    const file = req.params.file;
    if (file !== 'app.js' && file !== 'app.css') return void res.status(404).type('text/plain').send(`${text('web.not_found')}\n`);
    res.sendFile(join(STATIC_DIR, file), { headers: { 'cache-control': 'no-cache' } });
  });

  const readPicture = pictureUpload(config.IMAGE_MAX_BYTES);
  app.post('/api/videos', async (req, res) => {
    // A form with a picture comes as multipart/form-data: its fields, then its one file.
    const upload = await readPicture(req, res);
    const form = videoForm.safeParse(req.body ?? {});
    const userId = formUser(req, res, form.success ? form.data.csrf : (req.body as { csrf?: unknown } | undefined)?.csrf);
    if (!userId) return;
    if ('refused' in upload) return void refuse(req, res, 400, upload.refused.message);
    if (!form.success) return void refuse(req, res, 400, text('bad_option', { option: badField(form.error) }));
    const { prompt, preset, seed, negativePrompt } = form.data;
    const input = { prompt, preset: preset || undefined, seed: seed === '' ? undefined : seed, negativePrompt: negativePrompt || undefined, ...(upload.image ? { image: upload.image } : {}) };
    const { replies, view } = await run(commands.video, userId, input);
    answer(req, res, replies, view);
  });

  for (const action of ['cancel', 'reroll'] as const) {
    app.post(`/api/videos/:jobId/${action}`, async (req, res) => {
      const form = buttonForm.safeParse(req.body ?? {});
      const userId = formUser(req, res, (req.body as { csrf?: unknown } | undefined)?.csrf);
      if (!userId) return;
      if (!form.success) return void refuse(req, res, 400, text('bad_option', { option: badField(form.error) }));
      const jobId = String(req.params.jobId);
      if (!JOB_ID.test(jobId)) return void refuse(req, res, 400, text('bad_job_id'));
      const { replies, view } = action === 'cancel' ? await run(commands.cancel, userId, { jobId }) : await run(commands.reroll, userId, { jobId });
      answer(req, res, replies, view);
    });
  }

  // /settings as a form: the same command, the same checks and answers as in chat.
  app.post('/api/settings', async (req, res) => {
    const form = settingsForm.safeParse(req.body ?? {});
    const userId = formUser(req, res, (req.body as { csrf?: unknown } | undefined)?.csrf);
    if (!userId) return;
    if (!form.success) return void refuse(req, res, 400, text('bad_option', { option: badField(form.error) }));
    const { csrf: _csrf, ...input } = form.data;
    const { replies } = await run(commands.settings, userId, input.action ? { action: 'reset' } : input);
    answer(req, res, replies);
  });

  // The user's recent clips as they stand (the page gets the same through /api/events; this is for scripts).
  app.get('/api/videos', async (req, res) => {
    const userId = identity.userOf(req);
    if (!userId) return void res.json({ videos: [] });
    res.set('cache-control', 'no-store').json({ videos: await recentViews(userId) });
  });

  const recentViews = async (userId: string): Promise<WebJobView[]> => {
    const views = await Promise.all((await clips.recent(userId)).map((jobId) => feed.view(jobId).catch(() => null)));
    return views.filter((v): v is WebJobView => v !== null);
  };

  app.get('/api/events', async (req, res) => {
    const userId = identity.userOf(req);
    if (!userId) return void res.status(401).type('text/plain').send(`${text('web.forged')}\n`);
    res.set({ 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no' });
    res.flushHeaders();
    streams.add(res);
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    // Events that arrive while the snapshot is read are held, then sent after it: none lost, none overtaken.
    let held: WebJobView[] | null = [];
    const unsubscribe = feed.subscribe(userId, (view) => (held ? held.push(view) : send('job', view)));
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    req.on('close', () => {
      clearInterval(ping);
      unsubscribe();
      streams.delete(res);
    });
    res.write('retry: 2000\n\n');
    try {
      send('snapshot', await recentViews(userId));
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'web: snapshot failed');
      send('snapshot', []);
    }
    for (const view of held) send('job', view);
    held = null;
  });

  app.get('/clips/:file', async (req, res) => {
    const missing = () => void res.status(404).type('text/plain').send(`${text('web.clip_missing')}\n`);
    const jobId = /^(.+)\.mp4$/.exec(String(req.params.file))?.[1] ?? '';
    const userId = identity.userOf(req);
    if (!JOB_ID.test(jobId) || !userId) return missing();
    const job = await services.queue.getJob(jobId);
    if (!job) return missing();
    let owner: string | null = null;
    try {
      owner = webOwner(parseJobRequest(job.data));
    } catch {
      owner = null;
    }
    // Someone else's clip is as absent as a deleted one.
    const result = jobResultSchema.safeParse(job.returnvalue);
    if (owner !== userId || !result.success) return missing();
    const path = resolve(result.data.videoPath);
    if (!path.startsWith(outputDir + sep)) return missing();
    res.sendFile(path, { headers: { 'cache-control': 'private, max-age=86400', 'content-type': 'video/mp4' } }, (err) => {
      if (err && !res.headersSent) missing();
    });
  });

  app.use((_req: Request, res: Response) => void res.status(404).type('text/plain').send(`${text('web.not_found')}\n`));
  // Bodies that are not JSON or too large, and anything thrown: one clear line, never a stack trace.
  app.use((err: Error & { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
    if (err.type === 'entity.too.large') return void refuse(req, res, 413, text('prompt_too_long', { length: '1,000,000+', max: config.PROMPT_MAX_CHARS }));
    if (err.status && err.status < 500) return void refuse(req, res, err.status, text('web.forged'));
    log.error({ err: err.message }, 'web request failed');
    if (!res.headersSent) refuse(req, res, 500, text('internal'));
  });

  const server = createServer(app);
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(config.WEB_PORT, config.WEB_HOST, () => {
      server.off('error', fail);
      done();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.WEB_HOST.includes(':') ? `[${config.WEB_HOST}]` : config.WEB_HOST;
  const shownHost = host === '0.0.0.0' || host === '[::]' ? '127.0.0.1' : host;
  const url = `http://${shownHost}:${port}/`;
  log.info({ url, loopbackOnly: isLoopback(config.WEB_HOST), token: Boolean(config.WEB_TOKEN), basicAuth: Boolean(config.WEB_USER) }, 'web page serving');
  return {
    platform: 'web',
    url,
    port,
    async stop() {
      for (const res of streams) res.end();
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      await feed.close();
    },
  };
}

/** A form posted by a browser without the page's script: it gets a page back, not JSON. */
function wantsHtml(req: Request): boolean {
  // A form posted by a browser without the page's script: urlencoded, or multipart since the form takes a picture.
  return Boolean(req.is(['urlencoded', 'multipart/form-data'])) && req.accepts(['json', 'html']) === 'html';
}

/** The first field a form got wrong: an unknown name, or a value that is not text. */
function badField(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue?.code === 'unrecognized_keys') return issue.keys[0] ?? '?';
  return String(issue?.path[0] ?? '?');
}

// A failure quoting a credential leaves no credential behind (issue 13): a delivery fails the way telegraf does when
// the Bot API answers with an nginx 413 page (the error names the whole /bot<token>/ URL, plus a proxy's URL with
// its password); the job's failedReason and stack trace, the events stream, the worker's heartbeat and /gpu status
// all carry the scrubbed text only.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { commands } from '../../commands/index.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import type { DeliverableVideo, PlatformOutbound } from '../../src/platforms/platform.ts';
import { heartbeatKey } from '../../src/queue/fleet-readings.ts';
import { JOB_PAYLOAD_VERSION, type JobRequest } from '../../src/queue/job-contract.ts';
import { OwnedQueueEvents } from '../../src/queue/queue-events.ts';
import { type RunningWorker, startVideoWorker } from '../../worker/video-worker.ts';
import { recordingContext } from '../helpers/recording-context.ts';
import { type TestConfig, testConfig } from '../helpers/test-config.ts';

const BOT_TOKEN = '987654321:AAF-unregistered_token_value-xyz0123456';
const PROXY_PASSWORD = 'proxy/pass@word-77';
const LEAKS = [BOT_TOKEN, BOT_TOKEN.split(':')[1]!, PROXY_PASSWORD, encodeURIComponent(PROXY_PASSWORD)];

/** Delivers to "telegram" like telegraf behind an nginx that refuses the upload. */
class RefusedUpload implements PlatformOutbound {
  readonly platform = 'telegram' as const;
  readonly status = null;
  uploadLimitBytes(): number {
    return 50 * 2 ** 20;
  }
  async deliver(_job: JobRequest, _jobId: string, _video: DeliverableVideo): Promise<Record<string, unknown>> {
    throw new Error(
      `request to https://api.telegram.org/bot${BOT_TOKEN}/sendVideo failed, reason: invalid json response body at ` +
        `https://api.telegram.org/bot${BOT_TOKEN}/sendVideo reason: Unexpected token '<', "<html><h1>413 Request Entity Too Large</h1>" (via http://egress:${PROXY_PASSWORD}@proxy.internal:3128)`,
    );
  }
}

describe('secrets in failures', () => {
  let t: TestConfig;
  let services: ReturnType<typeof createCommandServices>;
  let worker: RunningWorker;
  let events: OwnedQueueEvents;

  before(async () => {
    t = testConfig({ JOB_ATTEMPTS: '1', HEARTBEAT_INTERVAL_MS: '200' });
    services = createCommandServices(t.config);
    worker = await startVideoWorker(t.config, { deliveries: [new RefusedUpload()] });
    events = new OwnedQueueEvents(t.config.QUEUE_NAME, t.config);
    await events.waitUntilReady();
  });
  after(async () => {
    await events?.close();
    await worker?.close();
    await services?.close();
    await t?.cleanup();
  });

  test('failedReason, stack trace, events, heartbeat and /gpu status show the failure without the token or the proxy password', { timeout: 180_000 }, async () => {
    const request: JobRequest = {
      v: JOB_PAYLOAD_VERSION,
      requestId: crypto.randomUUID(),
      prompt: 'a lighthouse at dusk',
      negativePrompt: '',
      preset: 'tiny',
      seed: 5,
      user: { id: '77', name: 'tg', platform: 'telegram' },
      delivery: { platform: 'telegram', target: { chatId: 77, statusMessageId: 1 } },
      createdAt: Date.now(),
    };
    const job = await services.queue.primary.queue.add('video', request, { jobId: request.requestId, attempts: 1 });
    await assert.rejects(job.waitUntilFinished(events, 150_000), (err: Error) => /sendVideo/.test(err.message) && !err.message.includes(BOT_TOKEN));

    const stored = await services.redis.hgetall(services.queue.primary.queue.toKey(job.id!));
    assert.match(stored.failedReason ?? '', /^request to https:\/\/api\.telegram\.org\/bot\[redacted\]\/sendVideo failed/, 'the reason is still useful');
    assert.match(stored.failedReason ?? '', /http:\/\/egress:\[redacted\]@proxy\.internal:3128/);
    assert.ok((stored.stacktrace ?? '').includes('bot[redacted]/sendVideo'), 'the stack trace is stored, scrubbed');
    const streamed = JSON.stringify(await services.redis.xrange(services.queue.primary.queue.toKey('events'), '-', '+'));
    assert.match(streamed, /"failed"/);

    // The heartbeat after the failure quotes it as the worker's last error.
    let beat = '';
    for (let i = 0; i < 100 && !beat.includes('sendVideo'); i++) {
      beat = (await services.redis.get(heartbeatKey(services.queue, worker.id))) ?? '';
      if (!beat.includes('sendVideo')) await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(beat, /bot\[redacted\]\/sendVideo/);

    const admin = recordingContext({ isAdmin: true });
    await dispatch(commands.gpuStatus, admin, {}, services);
    const status = admin.replies[0]!.text;
    assert.match(status, /last error .* ago: request to https:\/\/api\.telegram\.org\/bot\[redacted\]/);

    for (const [where, text] of [['failedReason', stored.failedReason ?? ''], ['stacktrace', stored.stacktrace ?? ''], ['events', streamed], ['heartbeat', beat], ['/gpu status', status]] as const) {
      for (const leak of LEAKS) assert.ok(!text.includes(leak), `${where} holds "${leak}"`);
    }
  });
});

// What the web page shows of a job, from its events, in the catalogue's words; and who a browser is.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Request, Response } from 'express';
import { text } from '../../src/core/texts.ts';
import { WebIdentity } from '../../src/platforms/web/web-identity.ts';
import { cancelledView, doneView, eventView, failedView, queuedView, type WebJobView } from '../../src/platforms/web/web-job-view.ts';

const base: WebJobView = {
  jobId: '9b2f8c1e-0000-4000-8000-000000000001', prompt: 'a fox', preset: 'standard', seed: 42, createdAt: 1, state: 'queued', status: '', position: null, eta: null,
  step: null, steps: null, videoUrl: null, stats: null, durationS: null, demoModel: false, error: null, canCancel: true, canReroll: false,
};

describe('web job views', () => {
  test('queued: the place in line and the ETA', () => {
    const v = queuedView(base, 2, 40);
    assert.deepEqual([v.state, v.status, v.eta, v.canCancel], ['queued', text('status.queued_position', { position: 2 }), text('web.eta', { eta: '40 s' }), true]);
  });

  test('generating i/n, decoding, uploading (no cancel any more)', () => {
    const g = eventView(base, { stage: 'generating', step: 3, steps: 8 }, 12);
    assert.deepEqual([g.state, g.status, g.step, g.steps, g.eta], ['running', text('status.generating_step', { step: 3, steps: 8 }), 3, 8, text('web.running_eta', { eta: '12 s' })]);
    assert.equal(eventView(g, { stage: 'decoding', step: 8, steps: 8 }).status, text('status.decoding'));
    const up = eventView(g, { stage: 'uploading' });
    assert.equal(up.status, text('status.uploading'));
    assert.equal(up.canCancel, false);
  });

  test('done: the clip URL, the stats without a second demo line, the duration from frames/fps', () => {
    const stats = { preset: 'standard', seed: 42, steps: 8, width: 160, height: 96, frames: 9, fps: 8, queueWaitS: 1, textEncodeS: 0.1, denoiseS: 2, denoisePerStepS: 0.25, vaeDecodeS: 1, engineTotalS: 3.2, mp4EncodeS: 0.5, deliveryS: 0, endToEndS: 5, gpuName: null, peakVramBytes: null, gpuUtilMean: null, workerId: 'w', cached: false, demoModel: true };
    const v = doneView(base, { v: 1, videoPath: '/x.mp4', bytes: 10, stats, receipt: {}, alreadyDelivered: false });
    assert.equal(v.videoUrl, `/clips/${base.jobId}.mp4`);
    assert.equal(v.durationS, 9 / 8);
    assert.equal(v.demoModel, true);
    assert.doesNotMatch(v.stats ?? '', /demo model/);
    assert.deepEqual([v.canCancel, v.canReroll], [false, true]);
  });

  test('failed and cancelled: the status record speaks first; failedReason only when there is none', () => {
    const record = { jobId: base.jobId, attempt: 1, version: 3, preset: 'standard', seed: 42, userId: 'u', delivery: { platform: 'web' as const, target: {} }, at: 1 };
    const failed = failedView(base, 'raw internal reason', { ...record, event: { stage: 'failed', reason: 'engine_failed', detail: 'the GPU ran out of memory' } });
    assert.deepEqual([failed.state, failed.error], ['failed', text('engine_failed', { reason: 'the GPU ran out of memory' })]);
    assert.equal(failedView(base, 'cancelled').state, 'cancelled');
    assert.equal(failedView(base, 'boom').error, text('engine_failed', { reason: 'boom' }));
    assert.equal(cancelledView(base).status, text('status.cancelled'));
  });
});

describe('web identity', () => {
  const identity = new WebIdentity(Buffer.from('k'.repeat(32)));
  const request = (cookie?: string) => ({ headers: cookie ? { cookie } : {}, secure: false }) as unknown as Request;

  test('a new browser gets a signed cookie; the same cookie is the same user; a forged one is no one', () => {
    let set = '';
    const res = { cookie: (_name: string, value: string) => void (set = value) } as unknown as Response;
    const id = identity.userOrNew(request(), res);
    assert.match(id, /^[0-9a-f]{32}$/);
    assert.equal(identity.userOf(request(`cogcast_user=${encodeURIComponent(set)}`)), id);
    assert.equal(identity.userOf(request(`cogcast_user=${id}.forged`)), null);
    assert.equal(identity.userOf(request(`cogcast_user=${'0'.repeat(32)}.${set.split('.')[1]}`)), null, "another id with this one's signature");
    assert.equal(new WebIdentity(Buffer.from('other key')).userOf(request(`cogcast_user=${encodeURIComponent(set)}`)), null);
  });

  test("the CSRF token is the user's own", () => {
    const token = identity.csrfToken('a'.repeat(32));
    assert.equal(identity.checkCsrf('a'.repeat(32), token), true);
    assert.equal(identity.checkCsrf('b'.repeat(32), token), false);
    assert.equal(identity.checkCsrf('a'.repeat(32), undefined), false);
    assert.equal(identity.checkCsrf('a'.repeat(32), ['x']), false);
  });
});

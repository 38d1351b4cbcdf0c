// The one scrubber: bot-token URLs, URL credentials and registered secrets go; the rest of the text stays readable.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { UnrecoverableError } from 'bullmq';
import { registerSecret, scrubError, scrubSecrets } from '../../src/core/scrub-secrets.ts';

describe('scrubSecrets', () => {
  test('a Bot API URL keeps its method and loses its token, however short the token', () => {
    assert.equal(scrubSecrets('POST https://api.telegram.org/bot123:abc-DEF_9/sendVideo failed'), 'POST https://api.telegram.org/bot[redacted]/sendVideo failed');
    assert.equal(scrubSecrets('http://10.0.0.5:8081/bot987654321:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw0/getFile'), 'http://10.0.0.5:8081/bot[redacted]/getFile');
  });

  test('URL credentials: the password goes (even holding / or @), the user and host stay', () => {
    assert.equal(scrubSecrets('connect redis://cogcast:s3cr3t@redis.internal:6379/0'), 'connect redis://cogcast:[redacted]@redis.internal:6379/0');
    assert.equal(scrubSecrets('via http://proxy:pa/ss@w0rd@egress:3128 refused'), 'via http://proxy:[redacted]@egress:3128 refused');
    assert.equal(scrubSecrets('rediss://:only-a-password@host:6380'), 'rediss://:[redacted]@host:6380');
    assert.equal(scrubSecrets('https://ghp_token123@github.com/x.git'), 'https://[redacted]@github.com/x.git');
  });

  test('inside JSON the scrubbed text stays valid JSON', () => {
    const line = JSON.stringify({ err: 'GET https://a:b@c/d', next: 'e@f', url: 'https://api.telegram.org/bot1:x/getMe' });
    const scrubbed = scrubSecrets(line);
    assert.deepEqual(JSON.parse(scrubbed), { err: 'GET https://a:[redacted]@c/d', next: 'e@f', url: 'https://api.telegram.org/bot[redacted]/getMe' });
  });

  test('ordinary text, ports and e-mail addresses are left alone', () => {
    for (const text of ['redis://127.0.0.1:6379', 'engine exited (SIGKILL) after 12.5 s', 'mail ops@example.org', 'http://host:8080/path?q=1']) assert.equal(scrubSecrets(text), text);
  });

  test('registered secrets go, raw, JSON-escaped or percent-encoded', () => {
    registerSecret('pa"ss/word-42');
    assert.equal(scrubSecrets('x pa"ss/word-42 y'), 'x [redacted] y');
    assert.equal(scrubSecrets(JSON.stringify('pa"ss/word-42')), '"[redacted]"');
    assert.equal(scrubSecrets('u=pa%22ss%2Fword-42'), 'u=[redacted]');
  });

  test('scrubError keeps the error\'s class (its retry meaning) and scrubs message and stack', () => {
    const err = scrubError(new UnrecoverableError('bad: https://api.telegram.org/bot42:tok-en/sendVideo'));
    assert.ok(err instanceof UnrecoverableError);
    assert.equal(err.message, 'bad: https://api.telegram.org/bot[redacted]/sendVideo');
    assert.ok(err.stack?.includes('bot[redacted]') && !err.stack.includes('tok-en'));
  });
});

// downloadImage against a loopback server: bounded by Content-Length and by counting, refused with the user's codes,
// and no error it throws (message, stack, cause, inspection) ever shows the URL's secret path (a bot token on Telegram).
import assert from 'node:assert/strict';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { inspect } from 'node:util';
import { UserFacingError, type UserErrorCode } from '../../src/core/errors.ts';
import { downloadImage } from '../../src/media/image-download.ts';

const SECRET = 'bot123456:AAE-s3cret-T0ken';
const LIMIT = 64 * 1024;

type Route = (req: IncomingMessage, res: ServerResponse) => void;

describe('downloadImage', () => {
  let server: Server;
  let base: string;
  const routes = new Map<string, Route>();
  /** Resolves when the response to the route closed (finished or cut off by the client). */
  const closed = new Map<string, Promise<{ bytesWritten: number; finished: boolean }>>();

  function route(name: string, handler: Route): string {
    routes.set(name, (req, res) => {
      let bytesWritten = 0;
      const write = res.write.bind(res) as (chunk: Buffer) => boolean;
      res.write = ((chunk: Buffer) => {
        bytesWritten += chunk.length;
        return write(chunk);
      }) as typeof res.write;
      closed.set(name, new Promise((resolve) => res.on('close', () => resolve({ bytesWritten, finished: res.writableFinished }))));
      handler(req, res);
    });
    return `${base}/file/${SECRET}/photos/${name}.jpg`;
  }

  before(async () => {
    server = createServer((req, res) => {
      const name = /\/photos\/([^/]+)\.jpg$/.exec(req.url ?? '')?.[1] ?? '';
      const handler = routes.get(name);
      if (handler) return handler(req, res);
      res.writeHead(404).end('not found');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  /** The refusal has the code, and nothing about it (message, stack, cause, inspect) holds the secret path. */
  async function refusedWith(download: Promise<Buffer>, code: UserErrorCode): Promise<UserFacingError> {
    let caught: unknown;
    await assert.rejects(download, (err: unknown) => {
      caught = err;
      return true;
    });
    assert.ok(caught instanceof UserFacingError, `expected UserFacingError, got ${inspect(caught)}`);
    assert.equal(caught.code, code);
    assert.equal(caught.cause, undefined);
    for (const shown of [caught.message, caught.stack ?? '', inspect(caught, { depth: 10 }), JSON.stringify(caught), String(caught)]) {
      assert.ok(!shown.includes('s3cret') && !shown.includes(SECRET), `the secret leaked: ${shown}`);
    }
    return caught;
  }

  test('a picture within the limit arrives whole, with the headers it was asked with', async () => {
    const body = Buffer.alloc(LIMIT, 7);
    let auth: string | undefined;
    const url = route('ok', (req, res) => {
      auth = req.headers.authorization;
      res.writeHead(200, { 'content-type': 'image/jpeg', 'content-length': body.length }).end(body);
    });
    const bytes = await downloadImage(url, LIMIT, { headers: { authorization: 'Bot x' } });
    assert.ok(bytes.equals(body));
    assert.equal(auth, 'Bot x');
    // A URL object works too, and a chunked body under the limit.
    const chunked = route('chunked-ok', (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(1000, 1));
      res.end(Buffer.alloc(1000, 2));
    });
    assert.equal((await downloadImage(new URL(chunked), LIMIT)).length, 2000);
  });

  test('a Content-Length over the limit is refused at once, without reading the body', async () => {
    const url = route('declared-big', (_req, res) => {
      // Headers only: were the body awaited, this would hang until the timeout.
      res.writeHead(200, { 'content-length': 50 * 1024 * 1024 });
      res.flushHeaders();
    });
    const started = performance.now();
    const err = await refusedWith(downloadImage(url, LIMIT, { timeoutMs: 10_000 }), 'image_too_big');
    assert.deepEqual(err.params, { size: '50.0 MB', max: '64 KB' });
    assert.ok(performance.now() - started < 3000, 'refused before any body');
    assert.equal((await closed.get('declared-big'))!.bytesWritten, 0);
  });

  test('a chunked body that runs past the limit is cut off once over, with image_too_big', async () => {
    const url = route('endless', (_req, res) => {
      res.writeHead(200, { 'content-type': 'image/jpeg' });
      const pump = setInterval(() => res.write(Buffer.alloc(16 * 1024, 9)), 5);
      res.on('close', () => clearInterval(pump));
    });
    await refusedWith(downloadImage(url, LIMIT, { timeoutMs: 10_000 }), 'image_too_big');
    const { bytesWritten, finished } = await closed.get('endless')!;
    assert.equal(finished, false, 'the server was cut off, not read to the end');
    // Socket buffers let some more through, but nowhere near an endless stream.
    assert.ok(bytesWritten < 8 * 1024 * 1024, `server wrote ${bytesWritten} bytes`);
  });

  test('a 404, a 500, a refused connection and a timeout are image_unavailable, without the URL', async () => {
    await refusedWith(downloadImage(`${base}/file/${SECRET}/photos/missing.jpg`, LIMIT), 'image_unavailable');
    const failing = route('fails', (_req, res) => res.writeHead(500).end(`error at /file/${SECRET}`));
    await refusedWith(downloadImage(failing, LIMIT), 'image_unavailable');

    const gone = createServer();
    await new Promise<void>((resolve) => gone.listen(0, '127.0.0.1', resolve));
    const port = (gone.address() as AddressInfo).port;
    await new Promise((resolve) => gone.close(resolve));
    await refusedWith(downloadImage(`http://127.0.0.1:${port}/file/${SECRET}/photos/x.jpg`, LIMIT), 'image_unavailable');

    const stalled = route('stalled', (_req, res) => {
      res.writeHead(200);
      res.write(Buffer.alloc(10));
    });
    const started = performance.now();
    await refusedWith(downloadImage(stalled, LIMIT, { timeoutMs: 200 }), 'image_unavailable');
    assert.ok(performance.now() - started < 3000, 'gave up at the timeout');
  });

  test("a fetch implementation's own error quoting the URL never comes through", async () => {
    const fetchImpl = (async (input: string | URL | Request) => {
      throw new TypeError(`fetch failed for ${String(input)}`, { cause: new Error(`ECONNRESET ${String(input)}`) });
    }) as typeof fetch;
    await refusedWith(downloadImage(`https://api.telegram.org/file/${SECRET}/photos/x.jpg`, LIMIT, { fetchImpl }), 'image_unavailable');
  });
});

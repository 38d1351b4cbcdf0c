// The bot's command side as its own process (its own host in a network test): JSON lines in on stdin
// ({ id, user, input }), the user's replies out on stdout ({ id, replies, ms }), through the real dispatcher.
import { createInterface } from 'node:readline';
import { commands } from '../../commands/index.ts';
import { env } from '../../config/env.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { dispatch } from '../../src/core/command.ts';
import { recordingContext } from './recording-context.ts';

export interface BotRequest {
  id: number;
  user: string;
  input: { prompt: string; preset?: string; seed?: number };
  outPath: string;
}

export interface BotAnswer {
  id: number;
  replies: { kind: string; text: string; jobId?: string }[];
  /** How long the user waited for the answer. */
  ms: number;
}

const services = createCommandServices(env());
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const request = JSON.parse(line) as BotRequest;
  const ctx = recordingContext({ id: request.user, target: { platform: 'cli', target: { outPath: request.outPath } } });
  const started = Date.now();
  void dispatch(commands.video, ctx, request.input, services).then(() => {
    const answer: BotAnswer = {
      id: request.id,
      ms: Date.now() - started,
      replies: ctx.replies.map((r) => ({ kind: r.kind, text: r.text, ...(r.buttons?.[0]?.jobId ? { jobId: r.buttons[0].jobId } : {}) })),
    };
    process.stdout.write(`${JSON.stringify(answer)}\n`);
  });
});
lines.on('close', () => void services.close().then(() => process.exit(0)));

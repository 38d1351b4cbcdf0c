// Drives test/helpers/bot-process.ts (the bot's command side in its own process): send a command, await the reply.
import type { ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import type { BotAnswer, BotRequest } from './bot-process.ts';

export class SpawnedBot {
  private nextId = 1;
  private readonly waiting = new Map<number, (answer: BotAnswer) => void>();
  stderr = '';

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const answer = JSON.parse(line) as BotAnswer;
      this.waiting.get(answer.id)?.(answer);
      this.waiting.delete(answer.id);
    });
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
  }

  /** Sends `/video` as `user` and resolves with what the user was answered. */
  video(user: string, input: BotRequest['input'], outPath: string): Promise<BotAnswer> {
    const id = this.nextId++;
    const answered = new Promise<BotAnswer>((resolve) => this.waiting.set(id, resolve));
    const request: BotRequest = { id, user, input, outPath };
    this.child.stdin!.write(`${JSON.stringify(request)}\n`);
    return answered;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}

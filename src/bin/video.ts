// `npm run video -- [command] --option value ...`: any command of the registry from a terminal; a queued video is followed to its MP4.
import { userInfo } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { env } from '../../config/env.ts';
import { createCommandServices } from '../app-services.ts';
import type { ChatContext, Reply } from '../core/chat-context.ts';
import { dispatch } from '../core/command.ts';
import { type OptionSpec, commandOptions } from '../core/command-options.ts';
import { commandRegistry } from '../core/command-registry.ts';
import { formatStats } from '../core/stats.ts';
import { text } from '../core/texts.ts';
import { typedValue } from '../core/typed-arguments.ts';
import { presetModel } from '../../config/presets.ts';
import { UserFacingError } from '../core/errors.ts';
import { fileImageUpload } from '../platforms/cli/cli-image.ts';
import { takeCliClip } from '../platforms/cli/cli-clip.ts';
import { jobResultSchema } from '../queue/job-contract.ts';
import { jobEventSchema } from '../queue/job-events.ts';
import { OwnedQueueEvents } from '../queue/queue-events.ts';
import { startVideoWorker, type RunningWorker } from '../../worker/video-worker.ts';
import { configureLogs } from '../core/log.ts';
import { cliLogLevel, terminalProgress } from './terminal-progress.ts';

const DEFAULT_COMMAND = 'video';
// The terminal's own flags, beside each command's options.
const CLI_FLAGS = {
  out: { type: 'string', short: 'o' },
  'no-worker': { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

const config = env();
configureLogs({ ...config, LOG_LEVEL: cliLogLevel(config.LOG_LEVEL) });
const registry = await commandRegistry(config.COMMANDS_DIR);
const argv = process.argv.slice(2);
const word = argv[0] !== undefined && !argv[0].startsWith('-') ? argv.shift()! : DEFAULT_COMMAND;
const command = registry.byWord('cli', word);

function usage(): string {
  const words = registry.on('cli').map((c) => c.word);
  const options = command ? commandOptions(command).map((o) => `[--${o.name}${o.type === 'boolean' ? '' : ` ${o.meta.placeholder ?? o.type}`}]`) : [];
  return [
    `usage: npm run video -- [${words.join('|')}] ${options.join(' ')} [--out clip.mp4] [--no-worker]`,
    'e.g.   npm run video -- --prompt "a red fox in the snow" --preset draft --seed 42',
  ].join('\n');
}

function parse(options: OptionSpec[]) {
  const spec: ParseArgsConfig['options'] = { ...CLI_FLAGS };
  for (const option of options) spec[option.name] = { type: option.type === 'boolean' ? 'boolean' : 'string', ...(option.meta.text ? { short: 'p' } : {}) };
  try {
    return parseArgs({ args: argv, options: spec, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${usage()}\n`);
    process.exit(2);
  }
}

/** The command's raw input from the flags; words after the command fill its free-text field (`cancel <id>`). */
function rawInput(options: OptionSpec[], parsed: ReturnType<typeof parse>): Record<string, unknown> {
  const input: Record<string, unknown> = {};
  for (const option of options) {
    const value = (parsed.values as Record<string, string | boolean | undefined>)[option.name];
    if (value === undefined) continue;
    // --image FILE: a picture on this machine, read when the command needs it.
    if (option.type === 'attachment') input[option.field] = fileImageUpload(resolve(String(value)));
    else input[option.field] = typeof value === 'string' ? typedValue(option, value) : value;
  }
  const free = parsed.positionals.join(' ');
  const textField = options.find((o) => o.meta.text);
  if (textField && free !== '' && input[textField.field] === undefined) input[textField.field] = typedValue(textField, free);
  return input;
}

if (!command) {
  process.stderr.write(`unknown command "${word}"\n${usage()}\n`);
  process.exit(2);
}
const options = commandOptions(command);
const args = parse(options);
if (args.values.help) {
  process.stdout.write(`${usage()}\n`);
  process.exit(0);
}
const services = createCommandServices(config);
const out = resolve(typeof args.values.out === 'string' ? args.values.out : `cogcast-${Date.now()}.mp4`);
// One event stream per model lane, ready before the job is queued, so its first progress is not missed.
const laneEvents = new Map([...services.queue.lanes.values()].map((lane) => [lane.queue.name, new OwnedQueueEvents(lane.queue.name, config)]));
let embedded: RunningWorker | null = null;
let exitCode = 0;
const replies: Reply[] = [];

const ctx: ChatContext = {
  user: { id: userInfo().username, name: userInfo().username, platform: 'cli', isAdmin: true },
  async reply(reply) {
    replies.push(reply);
    // Results on stdout; the running commentary (queued, refused) on stderr.
    (reply.kind === 'info' ? process.stdout : process.stderr).write(`${reply.text}\n`);
  },
  async deliveryTarget() {
    return { platform: 'cli', target: {} };
  },
  sameChat: (target) => target.platform === 'cli',
};

try {
  // Both connections up before the first command, so a slow connect is not taken for Redis being down.
  await Promise.all([...[...laneEvents.values()].map((events) => events.waitUntilReady()), ...[...services.queue.lanes.values()].map((lane) => lane.queue.waitUntilReady())]);
  await dispatch(command, ctx, undefined, services, { input: () => rawInput(options, args) });
  if (replies.some((r) => r.kind === 'error')) exitCode = 1;
  const jobId = replies.find((r) => r.kind === 'accepted')?.jobId;
  if (jobId) {
    const found = await services.queue.findJob(jobId);
    if (!found) throw new Error(`job ${jobId} vanished from the queue`);
    const { job, lane } = found;
    const events = laneEvents.get(lane.queue.name)!;
    if (!args.values['no-worker'] && (await lane.queue.getWorkersCount()) === 0) {
      process.stderr.write(`${text('cli.starting_worker')}\n`);
      embedded = await startVideoWorker(config);
      // The worker this process can start holds ENGINE_MODEL's model: a job of another model would never run here.
      if (embedded.queue.model !== lane.model) {
        await job.remove().catch(() => undefined);
        throw new UserFacingError('preset_unavailable', { preset: job.data.preset, model: lane.model, choices: services.presets.names.filter((n) => presetModel(services.presets.byName.get(n)!) === embedded!.queue.model).join(', ') });
      }
    }
    // The terminal is the CLI's status message: a cli-progress bar on a terminal, one line per event elsewhere.
    const display = terminalProgress(job.data);
    events.on('progress', ({ jobId: id, data }) => {
      const event = jobEventSchema.safeParse(data);
      if (id === jobId && event.success) display.update(event.data);
    });
    const result = jobResultSchema.parse(await job.waitUntilFinished(events).finally(() => display.stop()));
    // The worker kept the clip under its OUTPUT_DIR; the CLI itself writes it to --out (never the worker).
    const taken = await takeCliClip(config.OUTPUT_DIR, jobId, out);
    const wrote = taken ? text('cli.wrote', { path: out, bytes: result.bytes }) : text('cli.clip_on_worker', { path: `cli/${jobId}.mp4` });
    process.stdout.write(`${formatStats(result.stats)}\n${wrote}\n`);
  }
} catch (err) {
  exitCode = 1;
  process.stderr.write(`${text('cli.failed', { reason: (err as Error).message })}\n`);
} finally {
  await embedded?.close();
  await Promise.all([...laneEvents.values()].map((events) => events.close()));
  await services.close();
}
process.exit(exitCode);

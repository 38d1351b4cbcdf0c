// The command registry: every file of the commands folders (COMMANDS_DIR) is one command, checked on load, looked up by name, word or button.
import { readdir } from 'node:fs/promises';
import { extname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import type { Platform } from './chat-context.ts';
import { type AnyCommand, commandWord } from './command.ts';

// Loaded once per set of folders: every platform of a process routes from the same registry.
const loaded = new Map<string, Promise<CommandRegistry>>();

/** The registry of COMMANDS_DIR, loaded on first use. */
export function commandRegistry(setting: string): Promise<CommandRegistry> {
  const folders = commandFolders(setting);
  const key = folders.join('\0');
  let registry = loaded.get(key);
  if (!registry) {
    registry = loadCommandRegistry(folders);
    loaded.set(key, registry);
    registry.catch(() => loaded.delete(key));
  }
  return registry;
}

// What a command module must export by default (discord.js guide's loader: a predicate per module).
const commandModuleSchema = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,19}$/, 'a lowercase name (letters, digits, dashes), at most 20 characters'),
  description: z.string().min(1).max(100),
  input: z.instanceof(z.ZodObject, { message: 'a zod object schema of the input' }),
  execute: z.custom<AnyCommand['execute']>((v) => typeof v === 'function', 'a function'),
  precheck: z.custom((v) => v === undefined || typeof v === 'function', 'a function').optional(),
  hints: z.custom((v) => v === undefined || typeof v === 'function', 'a function').optional(),
  adminOnly: z.boolean().optional(),
  ack: z.enum(['public', 'private']).optional(),
  button: z.object({ ack: z.enum(['update', 'public']) }).optional(),
  words: z.partialRecord(z.enum(['discord', 'telegram', 'cli']), z.string().regex(/^[a-z][a-z0-9_-]*( [a-z][a-z0-9_-]*)?$/).nullable()).optional(),
  examples: z.array(z.string()).optional(),
  listed: z.boolean().optional(),
  order: z.number().optional(),
});

const LOADABLE = new Set(['.ts', '.js', '.mjs']);

export class CommandRegistry {
  private readonly byName = new Map<string, AnyCommand>();

  constructor(commands: readonly AnyCommand[]) {
    // Menus list public commands first, then by `order`, then in file order (Array.prototype.sort is stable).
    const ranked = [...commands].sort((a, b) => Number(a.adminOnly ?? false) - Number(b.adminOnly ?? false) || (a.order ?? 100) - (b.order ?? 100));
    for (const command of ranked) {
      if (this.byName.has(command.name)) throw new Error(`two commands are named "${command.name}"`);
      this.byName.set(command.name, command);
    }
    for (const platform of ['discord', 'telegram', 'cli'] as const) {
      const words = new Set<string>();
      for (const command of commands) {
        const word = commandWord(command, platform);
        if (word === null) continue;
        if (words.has(word)) throw new Error(`two commands answer to "${word}" on ${platform}`);
        words.add(word);
      }
    }
  }

  all(): AnyCommand[] {
    return [...this.byName.values()];
  }

  get(name: string): AnyCommand | undefined {
    return this.byName.get(name);
  }

  /** The commands offered on `platform`, with the word each answers to. */
  on(platform: Platform): { command: AnyCommand; word: string }[] {
    return this.all().flatMap((command) => {
      const word = commandWord(command, platform);
      return word === null ? [] : [{ command, word }];
    });
  }

  /** The command typed as `word` on `platform` (`gen`, `gpu status`). */
  byWord(platform: Platform, word: string): AnyCommand | undefined {
    return this.on(platform).find((c) => c.word === word)?.command;
  }

  /** The commands people may discover in menus and help on `platform`. */
  listedOn(platform: Platform): { command: AnyCommand; word: string }[] {
    return this.on(platform).filter(({ command }) => command.listed !== false && !command.adminOnly);
  }

  /** The command a button with `action` runs, if a command declares it can be pressed. */
  forButton(action: string): AnyCommand | undefined {
    const command = this.byName.get(action);
    return command?.button ? command : undefined;
  }
}

/** The folders COMMANDS_DIR names (comma-separated), resolved from the working directory. */
export function commandFolders(setting: string): string[] {
  return setting
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map((s) => resolve(s));
}

/** Loads every command file of `folders` (index.*, *.test.*, _* and *.d.ts skipped), each checked by the module schema. */
export async function loadCommandRegistry(folders: readonly string[]): Promise<CommandRegistry> {
  const commands: AnyCommand[] = [];
  for (const folder of folders) {
    const files = (await readdir(folder, { withFileTypes: true }))
      .filter((f) => f.isFile() && LOADABLE.has(extname(f.name)) && !/^(index\.|_)|\.test\.|\.d\.ts$/.test(f.name))
      .map((f) => f.name)
      .sort();
    for (const file of files) {
      const path = resolve(folder, file);
      const module = (await import(pathToFileURL(path).href)) as { default?: unknown };
      const checked = commandModuleSchema.safeParse(module.default);
      if (!checked.success) {
        const issue = checked.error.issues[0];
        throw new Error(`${path}: the default export is not a command: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
      }
      commands.push(module.default as AnyCommand);
    }
  }
  return new CommandRegistry(commands);
}

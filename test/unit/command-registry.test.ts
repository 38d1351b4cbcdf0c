// The command registry: the commands folder is the list of commands; a file that is not a command stops start-up naming it.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { z } from 'zod';
import { CommandRegistry, loadCommandRegistry } from '../../src/core/command-registry.ts';
import type { AnyCommand } from '../../src/core/command.ts';
import { REPO_ROOT } from '../helpers/test-config.ts';

const command = (name: string, words?: AnyCommand['words']): AnyCommand => ({ name, description: name, input: z.object({}), ...(words ? { words } : {}), async execute() {} });

describe('command registry', () => {
  test('loads commands/: every file one command, found by its word on each platform and by its button', async () => {
    const registry = await loadCommandRegistry([join(REPO_ROOT, 'commands')]);
    assert.deepEqual(registry.all().map((c) => c.name).sort(), ['cancel', 'gpu-status', 'help', 'reroll', 'settings', 'start', 'video']);
    assert.equal(registry.byWord('telegram', 'gen')?.name, 'video');
    assert.equal(registry.byWord('discord', 'video')?.name, 'video');
    assert.equal(registry.byWord('discord', 'gpu status')?.name, 'gpu-status');
    assert.equal(registry.byWord('discord', 'cancel'), undefined, 'Discord offers Cancel as a button only');
    assert.equal(registry.forButton('reroll')?.name, 'reroll');
    assert.equal(registry.forButton('video'), undefined, 'not every command is a button');
    assert.deepEqual(registry.listedOn('telegram').map((c) => c.word), ['gen', 'settings', 'cancel', 'help']);
  });

  test('a file whose default export is not a command is refused, naming the file and the field', async () => {
    await assert.rejects(loadCommandRegistry([join(REPO_ROOT, 'test/fixtures/commands-broken')]), /no-schema\.ts: the default export is not a command: input:/);
  });

  test('two commands may not share a name or a word on one platform', () => {
    assert.throws(() => new CommandRegistry([command('a'), command('a')]), /two commands are named "a"/);
    assert.throws(() => new CommandRegistry([command('a', { telegram: 'go' }), command('b', { telegram: 'go' })]), /two commands answer to "go" on telegram/);
  });
});

// Adding a command is one file: a command that lives only in a fixture folder (COMMANDS_DIR) is registered and routed
// on Discord (discord.js against the fake Discord), Telegram (telegraf against the fake Bot API) and the CLI, with no
// platform code changed; without the folder, none of them knows it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadPresets } from '../../config/presets.ts';
import { createCommandServices } from '../../src/app-services.ts';
import { type RunningDiscordBot, startDiscordBot } from '../../src/platforms/discord/discord-bot.ts';
import { registerCommands } from '../../src/platforms/discord/register-commands.ts';
import { FakeDiscordServer } from '../fakes/discord/fake-discord-server.ts';
import { ALICE, type TelegramHarness, telegramHarness } from '../helpers/telegram-harness.ts';
import { REPO_ROOT, type TestConfig, testConfig } from '../helpers/test-config.ts';
import { envFor } from '../helpers/worker-process.ts';

const WITH_ECHO = `${join(REPO_ROOT, 'commands')},${join(REPO_ROOT, 'test/fixtures/commands-extra')}`;
const EPHEMERAL = 1 << 6;
const LOADING = 1 << 7;
const STRING = 3;
const INTEGER = 4;
const run = promisify(execFile);

describe('a command file dropped into a commands folder', () => {
  describe('on Discord', () => {
    const TOKEN = 'fake-discord-bot-token';
    let server: FakeDiscordServer;
    let t: TestConfig;
    let services: ReturnType<typeof createCommandServices>;
    let bot: RunningDiscordBot;
    const erin = { id: '300000000000000005', username: 'erin' };

    before(async () => {
      server = new FakeDiscordServer({ token: TOKEN });
      const { api } = await server.start();
      t = testConfig({ DISCORD_TOKEN: TOKEN, DISCORD_API_BASE: api, DISCORD_GUILD_ID: server.guildId, COMMANDS_DIR: WITH_ECHO });
      services = createCommandServices(t.config);
      bot = await startDiscordBot(t.config, services);
    });
    after(async () => {
      await bot?.stop();
      await services?.close();
      await server?.stop();
      await t?.cleanup();
    });

    test('is registered with its options and answered through the interaction', async () => {
      await registerCommands(t.config, loadPresets(t.config.PRESETS_FILE));
      const registered = server.commands(server.guildId) as { name: string; options: { name: string; type: number; required?: boolean; min_value?: number; max_value?: number }[] }[];
      assert.deepEqual(registered.map((c) => c.name).sort(), ['echo', 'gpu', 'settings', 'video']);
      const echo = registered.find((c) => c.name === 'echo')!;
      assert.deepEqual(echo.options.map((o) => [o.name, o.type, o.required ?? false]), [['words', STRING, true], ['times', INTEGER, false]]);
      assert.deepEqual([echo.options[1]?.min_value, echo.options[1]?.max_value], [1, 3]);

      const { id } = await server.sendSlashCommand({ user: erin, roles: [server.roleId('Member')], commandName: 'echo', options: [{ name: 'words', value: 'hello', type: STRING }, { name: 'times', value: 2, type: INTEGER }] });
      const state = await server.waitFor(() => {
        const s = server.interaction(id);
        return s?.original && !((s.original.flags ?? 0) & LOADING) ? s : undefined;
      }, 10_000);
      assert.equal(state.original?.content, 'echo: hello hello (discord)');
      assert.ok((state.original?.flags ?? 0) & EPHEMERAL, 'its declared acknowledgement (private) was used');
    });
  });

  describe('on Telegram', () => {
    let h: TelegramHarness;
    before(async () => {
      h = await telegramHarness({ COMMANDS_DIR: WITH_ECHO });
      await h.startBot();
    });
    after(async () => h.close());

    test('is in the menu and /help, parses its options, and answers', async () => {
      assert.deepEqual(h.server.commands()?.map((c) => c.command), ['gen', 'settings', 'cancel', 'help', 'echo']);
      assert.equal((await h.answerTo(h.say(ALICE, '/echo hello there | times=3'))).text, 'echo: hello there hello there hello there (telegram)');
      assert.equal((await h.answerTo(h.say(ALICE, '/echo hi | loud=yes'))).text, 'I did not understand "loud=yes". Options look like preset=draft seed=42.');
      assert.match((await h.answerTo(h.say(ALICE, '/help'))).text ?? '', /\/echo: Says your words back/);
    });
  });

  describe('without the folder', () => {
    let h: TelegramHarness;
    before(async () => {
      h = await telegramHarness();
      await h.startBot();
    });
    after(async () => h.close());

    test('the command does not exist: Telegram nudges, the menu lacks it', async () => {
      assert.ok(!h.server.commands()?.some((c) => c.command === 'echo'));
      assert.match((await h.answerTo(h.say(ALICE, '/echo hello'))).text ?? '', /^Send \/gen followed by a description/);
    });
  });

  describe('on the CLI', () => {
    const t = testConfig();
    after(() => t.cleanup());
    const cli = async (commandsDir: string | undefined, ...args: string[]) => {
      const env = envFor(t.config, commandsDir ? { COMMANDS_DIR: commandsDir } : {});
      try {
        const { stdout, stderr } = await run('npm', ['run', '--silent', 'video', '--', ...args], { cwd: REPO_ROOT, env, timeout: 120_000 });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    };

    test('npm run video -- echo runs it; without the folder it is an unknown command', async () => {
      const ran = await cli(WITH_ECHO, 'echo', '--words', 'hi', '--times', '2');
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout.trim(), 'echo: hi hi (cli)');
      const positional = await cli(WITH_ECHO, 'echo', 'hi', 'there');
      assert.equal(positional.stdout.trim(), 'echo: hi there (cli)');
      const unknown = await cli(undefined, 'echo', '--words', 'hi');
      assert.equal(unknown.code, 2);
      assert.match(unknown.stderr, /unknown command "echo"/);
    });
  });
});

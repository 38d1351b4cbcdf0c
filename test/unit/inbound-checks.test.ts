// Issue 13's inbound findings that need no I/O: the /gen option check, the button codec, Discord's @everyone role.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { parseEnv } from '../../config/env.ts';
import { decodeButton, encodeButton, parseJobId } from '../../src/core/buttons.ts';
import { UserFacingError } from '../../src/core/errors.ts';
import { everyoneRolesConfigured, hasDiscordPriorityRole, isDiscordAdmin } from '../../src/platforms/discord/discord-admins.ts';
import { parseGenArguments } from '../../src/platforms/telegram/gen-arguments.ts';

const refusedAs = (code: string) => (err: unknown) => err instanceof UserFacingError && err.code === code;

describe('/gen options', () => {
  test('names inherited from Object.prototype are not options', () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf']) {
      assert.throws(() => parseGenArguments(`a fox | ${name}=x`), refusedAs('bad_option'), name);
    }
    assert.deepEqual(parseGenArguments('a fox | preset=tiny seed=4 negative="rain"'), { prompt: 'a fox', preset: 'tiny', seed: 4, negativePrompt: 'rain' });
  });
});

describe('button codec', () => {
  test('our buttons round-trip; job ids must be our UUIDs; other data is not ours', () => {
    const jobId = randomUUID();
    assert.deepEqual(decodeButton(encodeButton({ action: 'cancel', jobId })), { action: 'cancel', jobId });
    assert.ok(Buffer.byteLength(encodeButton({ action: 'reroll', jobId })) <= 64, "within Telegram's callback_data");
    for (const forged of ['cancel:abc', 'cancel:../../etc/passwd', `reroll:${jobId}x`, `cancel: ${jobId}`, 'cancel:\u0000']) {
      assert.throws(() => decodeButton(forged), refusedAs('bad_job_id'), forged);
    }
    assert.equal(decodeButton('some other bot'), null);
    assert.equal(decodeButton('Cancel:x'), null);
    assert.equal(parseJobId(` ${jobId} `), jobId);
    assert.throws(() => parseJobId('1 OR 1=1'), refusedAs('bad_job_id'));
  });
});

describe("Discord's @everyone role", () => {
  const guildId = '900000000000000001';
  const config = parseEnv({ DISCORD_ADMIN_ROLE_IDS: `${guildId},700000000000000007`, DISCORD_PRIORITY_ROLE_IDS: `${guildId},700000000000000008` });

  test('never makes an admin, even when configured; a real admin role still does', () => {
    // discord.js lists @everyone (id = guild id) among every cached member's roles.
    assert.equal(isDiscordAdmin(config, '1', [guildId], guildId), false);
    assert.equal(isDiscordAdmin(config, '1', [guildId, '700000000000000007'], guildId), true);
  });

  test('never puts anyone in the priority tier; a real priority role does', () => {
    assert.equal(hasDiscordPriorityRole(config, [guildId], guildId), false);
    assert.equal(hasDiscordPriorityRole(config, [guildId, '700000000000000008'], guildId), true);
  });

  test('is reported for the start-up warning', () => {
    assert.deepEqual(everyoneRolesConfigured(config, [guildId, '900000000000000002']), [guildId]);
    assert.deepEqual(everyoneRolesConfigured(config, ['900000000000000002']), []);
  });
});

/** The REST endpoints the product and discord.js call (gateway, application, command registration, interaction callbacks and webhooks, channel messages). */
import { MessageFlags, MessageType, type APIApplicationCommand, type APIMessage } from 'discord-api-types/v10';
import type { Reply } from './rate-limits.ts';
import type { UploadedFile } from './types.ts';
import { Errors, fieldError } from './errors.ts';
import type { InteractionRecord, World } from './world.ts';

export interface RequestContext {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  /** JSON body (or payload_json); `{}` when there was none. */
  body: Record<string, unknown>;
  json: unknown;
  files: UploadedFile[];
}

export interface Route {
  method: string;
  template: string;
  /** Bot-token routes need `Authorization: Bot ...`; interaction callbacks and webhook routes are authorised by the token in the path. */
  auth: boolean;
  handle: (ctx: RequestContext) => Reply;
}

export interface RouteHooks {
  gatewayUrl(): string;
  responseWindowMs(): number;
  tokenLifetimeMs(): number;
  /** Lets the server mirror non-ephemeral message changes onto the gateway. */
  messageChanged(message: APIMessage, change: 'create' | 'update' | 'delete'): void;
}

const ok = (body: unknown): Reply => ({ status: 200, body });
const noContent: Reply = { status: 204 };

export function buildRoutes(world: World, hooks: RouteHooks): Route[] {
  const routes: Route[] = [];
  const add = (method: string, template: string, auth: boolean, handle: Route['handle']): void => {
    routes.push({ method, template, auth, handle });
  };

  const application = () => ({
    id: world.applicationId,
    name: world.bot.username,
    icon: null,
    description: '',
    summary: '',
    type: null,
    bot_public: true,
    bot_require_code_grant: false,
    verify_key: '0'.repeat(64),
    team: null,
    flags: 0,
    bot: world.bot,
    owner: { id: world.snowflakes.next(), username: 'owner', discriminator: '0', global_name: null, avatar: null },
    install_params: undefined,
  });

  add('GET', '/gateway/bot', true, () =>
    ok({ url: hooks.gatewayUrl(), shards: 1, session_start_limit: { total: 1000, remaining: 999, reset_after: 14_400_000, max_concurrency: 1 } }),
  );
  add('GET', '/applications/@me', true, () => ok(application()));

  // Bulk overwrite keeps ids of commands whose name+type already existed, as Discord does.
  const overwrite = (ctx: RequestContext, scope: string, guildId?: string): Reply => {
    if (ctx.params.app !== world.applicationId) throw Errors.unknownWebhook();
    if (!Array.isArray(ctx.json)) throw Errors.invalidForm(fieldError([], 'BASE_TYPE_ARRAY', 'Must be an array.'));
    const previous = world.commands.get(scope) ?? [];
    const next = (ctx.json as Record<string, unknown>[]).map((raw, i): APIApplicationCommand => {
      const type = Number(raw.type ?? 1);
      const name = String(raw.name ?? '');
      if (type === 1 && !/^[-_\p{Ll}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u.test(name)) {
        throw Errors.invalidForm(fieldError([`${i}`, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid'));
      }
      if (type === 1 && (typeof raw.description !== 'string' || raw.description.length < 1 || raw.description.length > 100)) {
        throw Errors.invalidForm(fieldError([`${i}`, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.'));
      }
      if (raw.options !== undefined) validateOptions(raw.options, [`${i}`, 'options'], type === 1);
      const old = previous.find((c) => c.name === name && c.type === type);
      return {
        ...(raw as Partial<APIApplicationCommand>),
        id: old?.id ?? world.snowflakes.next(),
        application_id: world.applicationId,
        version: world.snowflakes.next(),
        type,
        name,
        description: typeof raw.description === 'string' ? raw.description : '',
        default_member_permissions: (raw.default_member_permissions as string | null | undefined) ?? null,
        nsfw: raw.nsfw === true,
        ...(guildId ? { guild_id: guildId } : {}),
      };
    });
    world.commands.set(scope, next);
    return ok(next);
  };
  add('PUT', '/applications/:app/commands', true, (ctx) => overwrite(ctx, 'global'));
  add('PUT', '/applications/:app/guilds/:guild/commands', true, (ctx) => overwrite(ctx, ctx.params.guild ?? '', ctx.params.guild));

  const interactionExtras = (rec: InteractionRecord): Partial<APIMessage> => ({
    webhook_id: world.applicationId,
    application_id: world.applicationId,
    interaction_metadata: {
      id: rec.id,
      type: rec.type,
      user: rec.user,
      authorizing_integration_owners: rec.guildId ? { 0: rec.guildId } : { 1: rec.user.id },
    } as APIMessage['interaction_metadata'],
  });
  const responseMessageType = (rec: InteractionRecord) => (rec.type === 2 ? MessageType.ChatInputCommand : MessageType.Reply);
  const announce = (message: APIMessage, change: 'create' | 'update' | 'delete') => {
    if (!((message.flags ?? 0) & MessageFlags.Ephemeral)) hooks.messageChanged(message, change);
  };

  const remove = (id: string) => {
    world.store.delete(id);
    const stored = world.store.get(id);
    if (stored) announce(stored.message, 'delete');
  };
  add('POST', '/interactions/:id/:token/callback', false, (ctx) => {
    const rec = world.interactions.get(ctx.params.id ?? '');
    const type = Number(ctx.body.type);
    const data = (ctx.body.data ?? {}) as Record<string, unknown>;
    if (!rec || rec.token !== ctx.params.token) throw Errors.unknownInteraction();
    const record = (status: number) => rec.callbacks.push({ type, data: structuredClone(data), status });
    try {
      if (rec.responseType !== null) throw Errors.alreadyAcknowledged();
      if (rec.tokenExpired || world.clock.now() - rec.createdAt > hooks.responseWindowMs()) throw Errors.unknownInteraction();
      // Types 6/7 act on the message holding the component, so only component interactions may use them.
      const allowed = rec.type === 3 ? [4, 5, 6, 7, 9] : rec.type === 2 ? [4, 5, 9] : [4, 5];
      if (!allowed.includes(type)) throw Errors.invalidForm(fieldError(['type'], 'INTERACTION_RESPONSE_TYPE_INVALID', 'Value must be one of ' + allowed.join(', ') + '.'));
      let message: APIMessage | undefined;
      if (type === 4) {
        world.store.validate(data, ctx.files, true);
        message = world.store.create({ channelId: rec.channelId, author: world.bot, body: data, files: ctx.files, type: responseMessageType(rec), extra: interactionExtras(rec) });
        announce(message, 'create');
      } else if (type === 5) {
        // Discord shows a "thinking..." placeholder: empty content with the LOADING flag until edited.
        const flags = MessageFlags.Loading | (Number(data.flags ?? 0) & MessageFlags.Ephemeral);
        message = world.store.create({ channelId: rec.channelId, author: world.bot, body: {}, files: [], type: responseMessageType(rec), flags, extra: interactionExtras(rec) });
        announce(message, 'create');
      } else if (type === 6 || type === 7) {
        const target = rec.componentMessageId ?? '';
        if (type === 7) {
          world.store.validate(data, ctx.files, false);
          message = world.store.edit(target, data, ctx.files);
          announce(message, 'update');
        } else {
          message = world.store.get(target)?.message;
        }
      }
      rec.responseType = type;
      if (message) rec.originalMessageId = message.id;
      rec.ephemeral = ((message?.flags ?? 0) & MessageFlags.Ephemeral) !== 0;
      record(ctx.query.get('with_response') === 'true' ? 200 : 204);
      if (ctx.query.get('with_response') !== 'true') return noContent;
      return ok({
        interaction: {
          id: rec.id,
          type: rec.type,
          response_message_id: message?.id,
          response_message_loading: type === 5,
          response_message_ephemeral: rec.ephemeral,
        },
        resource: { type, ...(message && type !== 6 ? { message } : {}) },
      });
    } catch (error) {
      record(error instanceof Error && 'status' in error ? Number(error.status) : 500);
      throw error;
    }
  });

  // Interaction webhooks: the token is the credential and dies 15 minutes after the interaction.
  const webhookInteraction = (ctx: RequestContext): InteractionRecord => {
    if (ctx.params.app !== world.applicationId) throw Errors.unknownWebhook();
    const rec = world.interactionByToken(ctx.params.token ?? '');
    if (!rec || rec.tokenExpired || world.clock.now() - rec.createdAt > hooks.tokenLifetimeMs()) throw Errors.invalidWebhookToken();
    return rec;
  };
  const webhookMessageId = (rec: InteractionRecord, mid: string): string => {
    const id = mid === '@original' ? rec.originalMessageId : mid;
    if (!id || (id !== rec.originalMessageId && !rec.followUpIds.includes(id)) || world.store.get(id)?.deleted) throw Errors.unknownMessage();
    return id;
  };

  add('POST', '/webhooks/:app/:token', false, (ctx) => {
    const rec = webhookInteraction(ctx);
    if (rec.responseType === null) throw Errors.unknownWebhook();
    const stored = rec.originalMessageId ? world.store.get(rec.originalMessageId) : undefined;
    // A deleted placeholder is gone: the follow-up is then a new message, ephemeral if its flags say so.
    const original = stored && !stored.deleted ? stored.message : undefined;
    let message: APIMessage;
    if (original && (original.flags ?? 0) & MessageFlags.Loading) {
      // Documented Discord behaviour: the first follow-up after a deferral replaces the "thinking" placeholder.
      world.store.validate(ctx.body, ctx.files, true);
      message = world.store.edit(original.id, ctx.body, ctx.files);
      announce(message, 'update');
    } else {
      world.store.validate(ctx.body, ctx.files, true);
      message = world.store.create({ channelId: rec.channelId, author: world.bot, body: ctx.body, files: ctx.files, type: responseMessageType(rec), extra: interactionExtras(rec) });
      rec.followUpIds.push(message.id);
      announce(message, 'create');
    }
    return ctx.query.get('wait') === 'true' ? ok(message) : noContent;
  });
  add('GET', '/webhooks/:app/:token/messages/:mid', false, (ctx) => {
    const rec = webhookInteraction(ctx);
    return ok(world.store.get(webhookMessageId(rec, ctx.params.mid ?? ''))?.message);
  });
  add('PATCH', '/webhooks/:app/:token/messages/:mid', false, (ctx) => {
    const rec = webhookInteraction(ctx);
    const id = webhookMessageId(rec, ctx.params.mid ?? '');
    world.store.validate(ctx.body, ctx.files, false);
    const message = world.store.edit(id, ctx.body, ctx.files);
    announce(message, 'update');
    return ok(message);
  });

  add('DELETE', '/webhooks/:app/:token/messages/:mid', false, (ctx) => {
    const rec = webhookInteraction(ctx);
    remove(webhookMessageId(rec, ctx.params.mid ?? ''));
    return noContent;
  });

  const channelOf = (ctx: RequestContext) => {
    const channel = world.channels.get(ctx.params.channel ?? '');
    if (!channel) throw Errors.unknownChannel();
    return channel;
  };
  // Ephemeral messages exist only for their recipient, so channel endpoints never see them.
  const channelMessage = (ctx: RequestContext): APIMessage => {
    const channel = channelOf(ctx);
    const stored = world.store.get(ctx.params.mid ?? '');
    if (!stored || stored.deleted || stored.message.channel_id !== channel.id || (stored.message.flags ?? 0) & MessageFlags.Ephemeral) throw Errors.unknownMessage();
    return stored.message;
  };
  add('GET', '/channels/:channel', true, (ctx) => ok(channelOf(ctx)));
  add('POST', '/channels/:channel/messages', true, (ctx) => {
    const channel = channelOf(ctx);
    world.store.validate(ctx.body, ctx.files, true);
    const reference = ctx.body.message_reference as APIMessage['message_reference'];
    const message = world.store.create({
      channelId: channel.id,
      author: world.bot,
      body: { ...ctx.body, flags: Number(ctx.body.flags ?? 0) & ~MessageFlags.Ephemeral },
      files: ctx.files,
      type: reference ? MessageType.Reply : MessageType.Default,
      extra: reference ? { message_reference: reference } : {},
    });
    announce(message, 'create');
    return ok(message);
  });
  // GET Channel Messages: newest first; before/after are snowflake cursors (after: the oldest `limit` after it).
  add('GET', '/channels/:channel/messages', true, (ctx) => {
    const channel = channelOf(ctx);
    const limit = Number(ctx.query.get('limit') ?? 50);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100) throw Errors.invalidForm(fieldError(['limit'], 'NUMBER_TYPE_MAX', 'int value should be between 1 and 100.'));
    const id = (m: APIMessage) => BigInt(m.id);
    const visible = [...world.store.messages.values()]
      .filter((s) => !s.deleted && s.message.channel_id === channel.id && !((s.message.flags ?? 0) & MessageFlags.Ephemeral))
      .map((s) => s.message)
      .sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
    const after = ctx.query.get('after');
    const before = ctx.query.get('before');
    let page: APIMessage[];
    if (after !== null) page = visible.filter((m) => id(m) > BigInt(after)).slice(0, limit);
    else page = visible.filter((m) => before === null || id(m) < BigInt(before)).slice(-limit);
    return ok(structuredClone(page.reverse()));
  });
  add('GET', '/channels/:channel/messages/:mid', true, (ctx) => ok(channelMessage(ctx)));
  add('PATCH', '/channels/:channel/messages/:mid', true, (ctx) => {
    const existing = channelMessage(ctx);
    if (existing.author.id !== world.bot.id) throw Errors.cannotEditOthers();
    world.store.validate(ctx.body, ctx.files, false);
    const message = world.store.edit(existing.id, ctx.body, ctx.files);
    announce(message, 'update');
    return ok(message);
  });

  return routes;
}

/** Finds the route for a request; `methodMismatch` distinguishes Discord's 405 from 404. */
/** Option types Discord knows (ApplicationCommandOptionType): 1 subcommand, 2 group, 3 string ... 10 number, 11 attachment. */
const OPTION_TYPES = new Set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
const CHOICE_TYPES = new Set([3, 4, 10]);
const NUMERIC_TYPES = new Set([4, 10]);
const OPTION_NAME = /^[-_\p{Ll}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/**
 * A command's options as Discord checks them on registration: known types, valid names and descriptions, at most 25,
 * unique names, required before optional; choices only on string/integer/number, min/max_value only on numbers,
 * min/max_length only on strings (so an attachment option takes none of them). Subcommands recurse.
 */
function validateOptions(options: unknown, path: string[], chatInput: boolean): void {
  if (!Array.isArray(options)) throw Errors.invalidForm(fieldError(path, 'BASE_TYPE_ARRAY', 'Must be an array.'));
  if (options.length > 25) throw Errors.invalidForm(fieldError(path, 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.'));
  const names = new Set<string>();
  let optionalSeen = false;
  options.forEach((entry: unknown, i) => {
    const at = [...path, `${i}`];
    const o = (entry ?? {}) as Record<string, unknown>;
    const type = Number(o.type);
    if (!OPTION_TYPES.has(type)) throw Errors.invalidForm(fieldError([...at, 'type'], 'BASE_TYPE_CHOICES', 'Value must be one of (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11).'));
    const name = typeof o.name === 'string' ? o.name : '';
    if (chatInput && !OPTION_NAME.test(name)) throw Errors.invalidForm(fieldError([...at, 'name'], 'APPLICATION_COMMAND_INVALID_NAME', 'Command name is invalid'));
    if (names.has(name)) throw Errors.invalidForm(fieldError([...at, 'name'], 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', 'Option names must be unique'));
    names.add(name);
    if (typeof o.description !== 'string' || o.description.length < 1 || o.description.length > 100) {
      throw Errors.invalidForm(fieldError([...at, 'description'], 'BASE_TYPE_BAD_LENGTH', 'Must be between 1 and 100 in length.'));
    }
    if (type === 1 || type === 2) {
      if (o.options !== undefined) validateOptions(o.options, [...at, 'options'], chatInput);
      return;
    }
    if (o.required === true && optionalSeen) throw Errors.invalidForm(fieldError([...at, 'required'], 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', 'Required options must be placed before non-required options'));
    if (o.required !== true) optionalSeen = true;
    const refuse = (field: string, message: string) => {
      throw Errors.invalidForm(fieldError([...at, field], 'APPLICATION_COMMAND_OPTION_INVALID', message));
    };
    if (o.choices !== undefined) {
      if (!CHOICE_TYPES.has(type)) refuse('choices', 'Choices are only allowed on string, integer and number options');
      if (!Array.isArray(o.choices) || o.choices.length > 25) throw Errors.invalidForm(fieldError([...at, 'choices'], 'BASE_TYPE_MAX_LENGTH', 'Must be 25 or fewer in length.'));
    }
    if (o.autocomplete === true && !CHOICE_TYPES.has(type)) refuse('autocomplete', 'Autocomplete is only allowed on string, integer and number options');
    for (const field of ['min_value', 'max_value']) if (o[field] !== undefined && !NUMERIC_TYPES.has(type)) refuse(field, `${field} is only allowed on integer and number options`);
    for (const field of ['min_length', 'max_length']) if (o[field] !== undefined && type !== 3) refuse(field, `${field} is only allowed on string options`);
  });
}

export function findRoute(routes: Route[], method: string, path: string): { route?: Route; params: Record<string, string>; methodMismatch: boolean } {
  const segments = path.split('/');
  let methodMismatch = false;
  for (const route of routes) {
    const template = route.template.split('/');
    if (template.length !== segments.length) continue;
    const params: Record<string, string> = {};
    const matched = template.every((seg, i) => {
      const got = segments[i] ?? '';
      if (seg.startsWith(':')) {
        params[seg.slice(1)] = got;
        return got.length > 0;
      }
      return seg === got;
    });
    if (!matched) continue;
    if (route.method === method) return { route, params, methodMismatch: false };
    methodMismatch = true;
  }
  return { params: {}, methodMismatch };
}

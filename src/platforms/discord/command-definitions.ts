// The slash commands as Discord registers them, derived from the command registry: words, options, choices, admin defaults.
import {
  InteractionContextType,
  PermissionFlagsBits,
  SlashCommandBuilder,
  SlashCommandSubcommandBuilder,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { AnyCommand, CommandServices, OptionChoice } from '../../core/command.ts';
import { type OptionSpec, commandOptions } from '../../core/command-options.ts';
import type { CommandRegistry } from '../../core/command-registry.ts';
import { LOCALES } from '../../core/locale.ts';
import { TEXTS, type TextId, text, textIdOf } from '../../core/texts.ts';

// Discord's own limits on a string option, on the number of choices and on names and descriptions.
const DISCORD_MAX_STRING_OPTION = 6000;
const DISCORD_MAX_CHOICES = 25;
const DISCORD_MAX_TEXT = 100;

const clip = (s: string, max = DISCORD_MAX_TEXT) => (s.length > max ? `${s.slice(0, max - 1)}…` : s);

/** Our languages as Discord's locale codes (its list has `zh-CN` and `ru` as they are; English is the base text). */
const DISCORD_LOCALES = LOCALES.filter((l) => l !== 'en');

/** `id` in every other language, for Discord's *_localizations fields. */
function localizations(id: TextId, shape: (s: string) => string = clip): Record<string, string> {
  return Object.fromEntries(DISCORD_LOCALES.map((locale) => [locale, shape(text(id, {}, locale))]));
}

/** The localizations of an English text when it is a catalogue text; null for a custom command's own words. */
function localizationsOf(english: string, shape: (s: string) => string = clip): Record<string, string> | null {
  const id = textIdOf(english);
  return id ? localizations(id, shape) : null;
}

/** A command name in each language (`discord.name.<word>` in the catalogue), lowercase as Discord wants names. */
function nameLocalizations(word: string): Record<string, string> | null {
  const id = `discord.name.${word}`;
  return id in TEXTS ? localizations(id as TextId, (s) => s.toLowerCase().replace(/\s+/g, '-').slice(0, 32)) : null;
}

/** The choice's shown name, `value (default): description`, in one language. */
function choiceName(c: OptionChoice, locale?: string): string {
  const tr = (s: string) => (locale ? (textIdOf(s) ? text(textIdOf(s)!, {}, locale) : s) : s);
  return clip(`${c.value}${c.tag ? tr(c.tag) : ''}${c.description ? `: ${tr(c.description)}` : ''}`);
}

/** Discord option names are lowercase: `negativePrompt` is offered as `negativeprompt`. */
export function discordOptionName(option: OptionSpec): string {
  return option.name.toLowerCase().slice(0, 32);
}

type OptionHost = Pick<SlashCommandBuilder, 'addStringOption' | 'addIntegerOption' | 'addNumberOption' | 'addBooleanOption' | 'addAttachmentOption'>;

function addOptions(host: OptionHost, command: AnyCommand, services: Pick<CommandServices, 'env' | 'presets'>): void {
  // Discord wants required options first.
  const options = commandOptions(command, services)
    .filter((o) => !o.meta.typedOnly)
    .sort((a, b) => Number(b.required) - Number(a.required));
  for (const option of options) {
    const name = discordOptionName(option);
    const description = clip(option.description);
    const described = localizationsOf(option.description);
    if (option.type === 'integer' || option.type === 'number') {
      const numeric = <O extends { setName(n: string): O; setDescription(d: string): O; setDescriptionLocalizations(l: Record<string, string> | null): O; setRequired(r: boolean): O; setMinValue(v: number): O; setMaxValue(v: number): O }>(o: O): O => {
        o.setName(name).setDescription(description).setDescriptionLocalizations(described).setRequired(option.required);
        if (option.min !== undefined) o.setMinValue(option.min);
        if (option.max !== undefined) o.setMaxValue(option.max);
        return o;
      };
      if (option.type === 'integer') host.addIntegerOption(numeric);
      else host.addNumberOption(numeric);
    } else if (option.type === 'attachment') {
      // A file the user picks in the client (a picture for image-to-video); Discord allows no choices or limits on it.
      host.addAttachmentOption((o) => o.setName(name).setDescription(description).setDescriptionLocalizations(described).setRequired(option.required));
    } else if (option.type === 'boolean') {
      host.addBooleanOption((o) => o.setName(name).setDescription(description).setDescriptionLocalizations(described).setRequired(option.required));
    } else {
      host.addStringOption((o) => {
        o.setName(name).setDescription(description).setDescriptionLocalizations(described).setRequired(option.required);
        if (option.minLength !== undefined) o.setMinLength(option.minLength);
        // Discord refuses longer input in the client already; the bot checks again after clean-up.
        if (option.maxLength !== undefined) o.setMaxLength(Math.min(DISCORD_MAX_STRING_OPTION, option.maxLength));
        if (option.choices) {
          o.addChoices(
            ...option.choices.slice(0, DISCORD_MAX_CHOICES).map((c) => ({
              name: choiceName(c),
              name_localizations: Object.fromEntries(DISCORD_LOCALES.map((locale) => [locale, choiceName(c, locale)])),
              value: c.value,
            })),
          );
        }
        return o;
      });
    }
  }
}

/**
 * One slash command per first word: `video` alone, `gpu status` as the subcommand `status` of `/gpu`. Admin-only
 * commands are hidden from members without Manage Server by default (the bot still checks its admin lists at run
 * time, because server owners can override this default for anyone) and offered in servers only.
 */
export function discordCommandDefinitions(registry: CommandRegistry, services: Pick<CommandServices, 'env' | 'presets'>): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  const byTop = new Map<string, { command: AnyCommand; sub: string | null }[]>();
  for (const { command, word } of registry.on('discord')) {
    const [top, sub] = word.split(' ') as [string, string | undefined];
    byTop.set(top, [...(byTop.get(top) ?? []), { command, sub: sub ?? null }]);
  }
  return [...byTop.entries()].map(([top, entries]) => {
    const builder = new SlashCommandBuilder().setName(top).setNameLocalizations(nameLocalizations(top));
    const adminOnly = entries.every((e) => e.command.adminOnly);
    builder.setDescription(clip(entries[0]!.command.description)).setDescriptionLocalizations(localizationsOf(entries[0]!.command.description));
    if (adminOnly) builder.setDefaultMemberPermissions(PermissionFlagsBits.ManageGuild).setContexts(InteractionContextType.Guild);
    else builder.setContexts(InteractionContextType.Guild, InteractionContextType.BotDM);
    for (const { command, sub } of entries) {
      if (sub === null) addOptions(builder, command, services);
      else builder.addSubcommand((s: SlashCommandSubcommandBuilder) => {
        s.setName(sub).setDescription(clip(command.description)).setDescriptionLocalizations(localizationsOf(command.description));
        addOptions(s as unknown as OptionHost, command, services);
        return s;
      });
    }
    return builder.toJSON();
  });
}

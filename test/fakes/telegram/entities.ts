/** Helpers shared by the markup parsers: the parse error type, TDLib's entity ordering, link checking, offsets. */

import type { TgMessageEntity } from './types.ts';

export interface FormattedText {
  text: string;
  entities: TgMessageEntity[];
}

/** A "can't parse entities" failure; the message is TDLib's text after that prefix. */
export class ParseError extends Error {}

/** Entity under construction; `codeLanguage` on a code entity is kept only to merge it into an enclosing pre. */
export interface Entity extends TgMessageEntity {
  codeLanguage?: string;
}

/** TDLib reports positions as UTF-8 byte offsets into the original text. */
export const byteOffset = (text: string, index: number): number => Buffer.byteLength(text.slice(0, index), 'utf8');

/** TDLib's is_space; it reads '\0' past the end of the buffer, which also counts as space. */
export const isSpace = (c: string | undefined): boolean =>
  c === undefined || c === ' ' || c === '\t' || c === '\r' || c === '\n' || c === '\0' || c === '\v' || c === '\f';

const PRIORITY: Record<string, number> = {
  blockquote: 0,
  expandable_blockquote: 0,
  pre: 11,
  code: 20,
  text_link: 49,
  text_mention: 49,
  bold: 90,
  italic: 91,
  underline: 92,
  strikethrough: 93,
  spoiler: 94,
  custom_emoji: 99,
};

/** TDLib order: by offset, longer first, then by type priority (outer formatting first). */
export function sortEntities<T extends TgMessageEntity>(entities: T[]): T[] {
  const priority = (e: TgMessageEntity) => (e.type === 'pre' && e.language !== undefined ? 10 : (PRIORITY[e.type] ?? 50));
  return [...entities].sort((a, b) => a.offset - b.offset || b.length - a.length || priority(a) - priority(b));
}

/**
 * LinkManager::get_checked_link, simplified: adds http:// when no scheme is given, lower-cases scheme
 * and host, inserts the '/' before a bare query, and rejects hosts that are neither IPv4 nor a dotted
 * domain. Returns undefined for links Telegram would silently drop.
 */
export function checkedLink(raw: string): string | undefined {
  if (raw === '' || /\s/.test(raw)) return undefined;
  const schemeMatch = /^([a-zA-Z][a-zA-Z0-9+.-]*):/.exec(raw);
  const scheme = schemeMatch?.[1]?.toLowerCase();
  if (scheme === 'tg' || scheme === 'ton' || scheme === 'tonsite') return raw;
  let rest = raw;
  let finalScheme = 'http';
  if (scheme !== undefined && raw.slice(schemeMatch![0].length).startsWith('//')) {
    if (scheme !== 'http' && scheme !== 'https') return undefined;
    finalScheme = scheme;
    rest = raw.slice(schemeMatch![0].length + 2);
  }
  const hostEnd = rest.search(/[/?#]/);
  const authority = hostEnd === -1 ? rest : rest.slice(0, hostEnd);
  let tail = hostEnd === -1 ? '' : rest.slice(hostEnd);
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const host = hostPort.replace(/:\d{1,5}$/, '').toLowerCase();
  const isIpv4 = /^(\d{1,3})(\.\d{1,3}){3}$/.test(host);
  const isDomain = /^([a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?\.)+(?:[a-z]{2,63}|xn--[a-z0-9-]+)$/.test(host);
  if (!isIpv4 && !isDomain) return undefined;
  if (!tail.startsWith('/')) tail = `/${tail}`;
  return `${finalScheme}://${authority.slice(0, authority.length - hostPort.length)}${hostPort.toLowerCase()}${tail}`;
}

export function linkEntity(offset: number, length: number, url: string): Entity | undefined {
  const checked = checkedLink(url);
  return checked === undefined ? undefined : { type: 'text_link', offset, length, url: checked };
}

/** Drops the parser-internal fields before entities leave the parser. */
export const stripInternal = (entity: Entity): TgMessageEntity => {
  const { codeLanguage: _ignored, ...rest } = entity;
  return rest;
};

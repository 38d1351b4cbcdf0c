/** MarkdownV2, ported from TDLib's parse_markdown_v2 so escaping mistakes fail with Telegram's exact error text. */

import { byteOffset, checkedLink, isSpace, ParseError, sortEntities, stripInternal, type Entity, type FormattedText } from './entities.ts';

type MdType =
  | 'bold'
  | 'italic'
  | 'underline'
  | 'strikethrough'
  | 'spoiler'
  | 'code'
  | 'pre'
  | 'pre_code'
  | 'text_link'
  | 'custom_emoji'
  | 'blockquote';

/** Names TDLib prints in "Can't find end of X entity" messages. */
const TD_TYPE_NAME: Record<MdType, string> = {
  bold: 'Bold',
  italic: 'Italic',
  underline: 'Underline',
  strikethrough: 'Strikethrough',
  spoiler: 'Spoiler',
  code: 'Code',
  pre: 'Pre',
  pre_code: 'PreCode',
  text_link: 'TextUrl',
  custom_emoji: 'CustomEmoji',
  blockquote: 'BlockQuote',
};

const reservedError = (c: string) => new ParseError(`Character '${c}' is reserved and must be escaped with the preceding '\\'`);

/** MarkdownV2 escapes: a backslash before any character with code 1..126. */
const isEscapable = (text: string, index: number) => {
  const code = text.charCodeAt(index);
  return code > 0 && code <= 126;
};

export function parseMarkdownV2(text: string): FormattedText {
  const n = text.length;
  const at = (k: number) => text[k];
  let out = '';
  const entities: Entity[] = [];
  const nested: { type: MdType; argument: string; offset: number; index: number }[] = [];
  const endError = (entry: { type: MdType; index: number }) =>
    new ParseError(`Can't find end of ${TD_TYPE_NAME[entry.type]} entity at byte offset ${byteOffset(text, entry.index)}`);
  let haveBlockquote = false;
  let canStartBlockquote = true;

  /** Reads "(url)" after ']' with backslash escapes; `i` points at ']' and ends at ')'. */
  const readUrl = (i: number, what: string): { url: string; end: number } => {
    let k = i + 2;
    const begin = k;
    let url = '';
    while (k < n && text[k] !== ')') {
      if (text[k] === '\\' && isEscapable(text, k + 1)) {
        url += text[k + 1];
        k += 2;
        continue;
      }
      url += text[k];
      k++;
    }
    if (at(k) !== ')') throw new ParseError(`Can't find end of ${what} at byte offset ${byteOffset(text, begin)}`);
    return { url, end: k };
  };

  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    if (c === '\\' && isEscapable(text, i + 1)) {
      i++;
      out += text[i];
      if (text[i] !== '\r') canStartBlockquote = text[i] === '\n';
      continue;
    }
    const top = nested[nested.length - 1];
    const inCode = top !== undefined && (top.type === 'code' || top.type === 'pre' || top.type === 'pre_code');
    const reserved = inCode ? '`' : '_*[]()~`>#+-=|{}.!\n';
    if (!reserved.includes(c)) {
      out += c;
      if (c !== '\r') canStartBlockquote = false;
      continue;
    }

    let isEnd = false;
    if (top !== undefined) {
      if (haveBlockquote && c === '\n' && (i + 1 === n || at(i + 1) !== '>')) {
        isEnd = true;
      } else {
        switch (top.type) {
          case 'bold':
            isEnd = c === '*';
            break;
          case 'italic':
            isEnd = c === '_' && at(i + 1) !== '_';
            break;
          case 'code':
            isEnd = c === '`';
            break;
          case 'pre':
          case 'pre_code':
            isEnd = c === '`' && at(i + 1) === '`' && at(i + 2) === '`';
            break;
          case 'text_link':
          case 'custom_emoji':
            isEnd = c === ']';
            break;
          case 'underline':
            isEnd = c === '_' && at(i + 1) === '_';
            break;
          case 'strikethrough':
            isEnd = c === '~';
            break;
          case 'spoiler':
            isEnd = c === '|' && at(i + 1) === '|';
            break;
          case 'blockquote':
            isEnd = false;
            break;
        }
      }
    }

    if (!isEnd) {
      const index = i;
      let type: MdType;
      let argument = '';
      switch (c) {
        case '_':
          if (at(i + 1) === '_') {
            type = 'underline';
            i++;
          } else {
            type = 'italic';
          }
          break;
        case '*':
          type = 'bold';
          break;
        case '~':
          type = 'strikethrough';
          break;
        case '|':
          if (at(i + 1) !== '|') throw reservedError(c);
          i++;
          type = 'spoiler';
          break;
        case '[':
          type = 'text_link';
          break;
        case '`':
          if (at(i + 1) === '`' && at(i + 2) === '`') {
            i += 3;
            type = 'pre';
            let languageEnd = i;
            while (!isSpace(at(languageEnd)) && at(languageEnd) !== '`') languageEnd++;
            if (i !== languageEnd && languageEnd < n && at(languageEnd) !== '`') {
              type = 'pre_code';
              argument = text.slice(i, languageEnd);
              i = languageEnd;
            }
            // One line break right after the opening fence (or language) is not part of the block.
            if (at(i) === '\n' || at(i) === '\r') {
              if ((at(i + 1) === '\n' || at(i + 1) === '\r') && at(i) !== at(i + 1)) i += 2;
              else i++;
            }
            i--;
          } else {
            type = 'code';
          }
          break;
        case '!':
          if (at(i + 1) !== '[') throw reservedError(c);
          i++;
          type = 'custom_emoji';
          break;
        case '\n':
          out += '\n';
          canStartBlockquote = true;
          continue;
        case '>':
          if (!canStartBlockquote) throw reservedError(c);
          // A '>' continuing an open quote on the next line is just a line marker.
          if (haveBlockquote) continue;
          type = 'blockquote';
          haveBlockquote = true;
          break;
        default:
          throw reservedError(c);
      }
      nested.push({ type, argument, offset: out.length, index });
      continue;
    }

    // End of an entity.
    let entry = nested[nested.length - 1]!;
    let type: MdType | 'expandable_blockquote' = entry.type;
    if (c === '\n' && type !== 'blockquote') {
      // "||" closing the last quoted line marks the quote as expandable; anything else is unterminated.
      const spoilerMarksExpandable =
        type === 'spoiler' &&
        (entry.index === i - 2 || (entry.index === i - 3 && out.length !== 0 && out[out.length - 1] === '\r'));
      if (!spoilerMarksExpandable) throw endError(entry);
      nested.pop();
      entry = nested[nested.length - 1]!;
      if (entry.type !== 'blockquote') throw endError(entry);
      type = 'expandable_blockquote';
    }
    let argument = entry.argument;
    let skip = out.length === entry.offset;
    let customEmojiId: string | undefined;
    switch (type) {
      case 'underline':
      case 'spoiler':
        i++;
        break;
      case 'pre':
      case 'pre_code':
        i += 2;
        break;
      case 'text_link': {
        let url: string;
        if (at(i + 1) !== '(') {
          url = out.slice(entry.offset);
        } else {
          const read = readUrl(i, 'a URL');
          url = read.url;
          i = read.end;
        }
        const checked = checkedLink(url);
        if (checked === undefined) skip = true;
        else argument = checked;
        break;
      }
      case 'custom_emoji': {
        if (at(i + 1) !== '(') throw new ParseError('Custom emoji entity must contain a tg://emoji URL');
        const read = readUrl(i, 'a custom emoji URL');
        i = read.end;
        const id = /^tg:\/\/emoji\/?\?(?:.*&)?id=([1-9]\d*)(?:[&#].*)?$/i.exec(read.url)?.[1];
        if (id === undefined) throw new ParseError('Invalid custom emoji URL specified');
        customEmojiId = id;
        break;
      }
      case 'blockquote':
      case 'expandable_blockquote':
        haveBlockquote = false;
        out += c;
        canStartBlockquote = true;
        skip = false;
        break;
      default:
        break;
    }
    if (!skip) {
      const entity: Entity = { type: type === 'pre_code' ? 'pre' : type, offset: entry.offset, length: out.length - entry.offset };
      if (type === 'pre_code') entity.language = argument;
      if (type === 'text_link') entity.url = argument;
      if (customEmojiId !== undefined) entity.custom_emoji_id = customEmojiId;
      entities.push(entity);
    }
    nested.pop();
  }

  if (haveBlockquote) {
    let type: 'blockquote' | 'expandable_blockquote' = 'blockquote';
    let last = nested[nested.length - 1];
    if (last?.type === 'spoiler' && last.index === n - 2) {
      nested.pop();
      type = 'expandable_blockquote';
      last = nested[nested.length - 1];
    }
    if (last?.type === 'blockquote') {
      const length = out.length - last.offset;
      if (length !== 0) entities.push({ type, offset: last.offset, length });
      nested.pop();
    }
  }
  const unterminated = nested[nested.length - 1];
  if (unterminated !== undefined) throw endError(unterminated);
  return { text: out, entities: sortEntities(entities).map(stripInternal) };
}


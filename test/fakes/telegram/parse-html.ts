/** HTML parse_mode, ported from TDLib's parse_html: supported tags, entity decoding, nesting and its error texts. */

import { byteOffset, isSpace, linkEntity, ParseError, sortEntities, stripInternal, type Entity, type FormattedText } from './entities.ts';

const HTML_TAGS = new Set([
  'a', 'b', 'strong', 'i', 'em', 's', 'strike', 'del', 'u', 'ins',
  'tg-spoiler', 'tg-emoji', 'span', 'pre', 'code', 'blockquote',
]);

/** &lt; &gt; &amp; &quot; and numeric references; anything else stays literal (TDLib decode_html_entity). */
function decodeHtmlEntity(text: string, pos: number): { char: string; next: number } | undefined {
  let end = pos + 1;
  let code = 0;
  if (text[end] === '#') {
    end++;
    if (text[end] === 'x') {
      end++;
      while (end < text.length && /[0-9a-fA-F]/.test(text[end]!)) code = code * 16 + parseInt(text[end++]!, 16);
    } else {
      while (end < text.length && /[0-9]/.test(text[end]!)) code = code * 10 + Number(text[end++]);
    }
    if (code === 0 || code >= 0x10ffff || end - pos >= 10) return undefined;
    if (code >= 0xd800 && code <= 0xdfff) {
      throw new ParseError(
        'Text contains invalid Unicode characters after decoding HTML entities, check for unmatched surrogate code units',
      );
    }
  } else {
    while (end < text.length && /[a-zA-Z]/.test(text[end]!)) end++;
    const name = text.slice(pos + 1, end);
    const named: Record<string, number> = { lt: 0x3c, gt: 0x3e, amp: 0x26, quot: 0x22 };
    const value = named[name];
    if (value === undefined) return undefined;
    code = value;
  }
  return { char: String.fromCodePoint(code), next: text[end] === ';' ? end + 1 : end };
}

export function parseHtml(text: string): FormattedText {
  const n = text.length;
  let out = '';
  const entities: Entity[] = [];
  const nested: { tag: string; argument: string; offset: number }[] = [];
  const err = (message: string) => new ParseError(message);
  let i = 0;
  while (i < n) {
    const c = text[i]!;
    if (c === '&') {
      const decoded = decodeHtmlEntity(text, i);
      if (decoded !== undefined) {
        out += decoded.char;
        i = decoded.next;
        continue;
      }
    }
    if (c !== '<') {
      out += c;
      i++;
      continue;
    }
    const begin = i++;
    if (text[i] !== '/') {
      // Start tag: the name runs to whitespace or '>' ("<<" gives the tag name "<").
      while (i < n && !isSpace(text[i]) && text[i] !== '>') i++;
      if (i >= n) throw err(`Unclosed start tag at byte offset ${byteOffset(text, begin)}`);
      const tag = text.slice(begin + 1, i).toLowerCase();
      if (!HTML_TAGS.has(tag)) throw err(`Unsupported start tag "${tag}" at byte offset ${byteOffset(text, begin)}`);
      const attributes = new Map<string, string>();
      while (text[i] !== '>') {
        while (i < n && isSpace(text[i])) i++;
        if (i >= n) throw err(`Unclosed start tag "${tag}" at byte offset ${byteOffset(text, begin)}`);
        if (text[i] === '>') break;
        const attributeBegin = i;
        while (i < n && !isSpace(text[i]) && text[i] !== '=' && text[i] !== '>') i++;
        const attribute = text.slice(attributeBegin, i).toLowerCase();
        if (attribute === '') throw err(`Empty attribute name in the tag "${tag}" at byte offset ${byteOffset(text, begin)}`);
        while (i < n && isSpace(text[i])) i++;
        if (text[i] !== '=') {
          // Attributes without a value ("<blockquote expandable>") are allowed.
          attributes.set(attribute, '');
          continue;
        }
        i++;
        while (i < n && isSpace(text[i])) i++;
        if (i >= n) throw err(`Unclosed start tag "${tag}" at byte offset ${byteOffset(text, begin)}`);
        let value = '';
        if (text[i] !== "'" && text[i] !== '"') {
          // An unquoted name token: letters, digits, '.', '-'; lower-cased like HTML does.
          const tokenBegin = i;
          while (i < n && /[a-zA-Z0-9.-]/.test(text[i]!)) i++;
          value = text.slice(tokenBegin, i).toLowerCase();
          if (!isSpace(text[i]) && text[i] !== '>') {
            throw err(`Unexpected end of name token at byte offset ${byteOffset(text, tokenBegin)}`);
          }
        } else {
          const quote = text[i++];
          while (i < n && text[i] !== quote) {
            if (text[i] === '&') {
              const decoded = decodeHtmlEntity(text, i);
              if (decoded !== undefined) {
                value += decoded.char;
                i = decoded.next;
                continue;
              }
            }
            value += text[i++];
          }
          if (text[i] === quote) i++;
        }
        if (i >= n) throw err(`Unclosed start tag at byte offset ${byteOffset(text, begin)}`);
        attributes.set(attribute, value);
      }
      let argument = '';
      if (tag === 'a') argument = attributes.get('href') ?? '';
      else if (tag === 'code') argument = attributes.get('class') ?? '';
      else if (tag === 'blockquote') argument = attributes.has('expandable') ? 'expandable' : '';
      else if (tag === 'tg-emoji') {
        argument = attributes.get('emoji-id') ?? '';
        if (!/^[1-9]\d*$/.test(argument)) throw err('Invalid custom emoji identifier specified');
      } else if (tag === 'span' && attributes.get('class') !== 'tg-spoiler') {
        throw err(`Tag "span" must have class "tg-spoiler" at byte offset ${byteOffset(text, begin)}`);
      }
      nested.push({ tag, argument, offset: out.length });
      i++;
      continue;
    }

    // End tag.
    const top = nested[nested.length - 1];
    if (top === undefined) throw err(`Unexpected end tag at byte offset ${byteOffset(text, begin)}`);
    i++;
    const nameBegin = i;
    while (i < n && !isSpace(text[i]) && text[i] !== '>') i++;
    const endName = text.slice(nameBegin, i).toLowerCase();
    while (i < n && isSpace(text[i])) i++;
    if (text[i] !== '>') throw err(`Unclosed end tag at byte offset ${byteOffset(text, begin)}`);
    if (endName !== '' && endName !== top.tag) {
      throw err(
        `Unmatched end tag at byte offset ${byteOffset(text, begin)}, expected "</${top.tag}>", found "</${endName}>"`,
      );
    }
    i++;
    nested.pop();
    const length = out.length - top.offset;
    if (length === 0) continue;
    const entity = htmlEntity(top.tag, top.argument, top.offset, length, out.slice(top.offset));
    if (entity !== undefined) entities.push(entity);
  }
  const unclosed = nested[nested.length - 1];
  if (unclosed !== undefined) throw err(`Can't find end tag corresponding to start tag "${unclosed.tag}"`);
  return { text: out, entities: mergePreCode(entities).map(stripInternal) };
}

function htmlEntity(tag: string, argument: string, offset: number, length: number, inner: string): Entity | undefined {
  switch (tag) {
    case 'b':
    case 'strong':
      return { type: 'bold', offset, length };
    case 'i':
    case 'em':
      return { type: 'italic', offset, length };
    case 'u':
    case 'ins':
      return { type: 'underline', offset, length };
    case 's':
    case 'strike':
    case 'del':
      return { type: 'strikethrough', offset, length };
    case 'tg-spoiler':
    case 'span':
      return { type: 'spoiler', offset, length };
    case 'tg-emoji':
      return { type: 'custom_emoji', offset, length, custom_emoji_id: argument };
    case 'a':
      return linkEntity(offset, length, argument === '' ? inner : argument);
    case 'pre':
      return { type: 'pre', offset, length };
    case 'code': {
      const language = /^language-(.+)$/.exec(argument)?.[1];
      return language === undefined ? { type: 'code', offset, length } : { type: 'code', offset, length, codeLanguage: language };
    }
    case 'blockquote':
      return { type: argument === 'expandable' ? 'expandable_blockquote' : 'blockquote', offset, length };
    default:
      return undefined;
  }
}

/** <pre><code class="language-x"> over the same text is one pre entity with a language, in either nesting order. */
function mergePreCode(entities: Entity[]): Entity[] {
  const result = [...entities];
  for (const code of entities) {
    if (code.type !== 'code' || code.codeLanguage === undefined) continue;
    const pre = result.find((e) => e.type === 'pre' && e.offset === code.offset && e.length === code.length);
    if (pre === undefined) continue;
    pre.language = code.codeLanguage;
    result.splice(result.indexOf(code), 1);
  }
  return sortEntities(result);
}


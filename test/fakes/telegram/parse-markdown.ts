/** Legacy Markdown parse_mode, ported from TDLib's parse_markdown (no nesting, few escapes). */

import { byteOffset, isSpace, linkEntity, ParseError, sortEntities, type Entity, type FormattedText } from './entities.ts';

export function parseMarkdown(text: string): FormattedText {
  const n = text.length;
  let out = '';
  const entities: Entity[] = [];
  for (let i = 0; i < n; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    if (c === '\\' && (next === '_' || next === '*' || next === '`' || next === '[')) {
      out += next;
      i++;
      continue;
    }
    if (c !== '_' && c !== '*' && c !== '`' && c !== '[') {
      out += c;
      continue;
    }
    const begin = i;
    const endChar = c === '[' ? ']' : c;
    let isPre = false;
    let language = '';
    i++;
    if (c === '`' && text[i] === '`' && text[i + 1] === '`') {
      i += 2;
      isPre = true;
      let languageEnd = i;
      while (!isSpace(text[languageEnd]) && text[languageEnd] !== '`') languageEnd++;
      if (i !== languageEnd && languageEnd < n && text[languageEnd] !== '`') {
        language = text.slice(i, languageEnd);
        i = languageEnd;
      }
      if (text[i] === '\n' || text[i] === '\r') {
        if ((text[i + 1] === '\n' || text[i + 1] === '\r') && text[i] !== text[i + 1]) i += 2;
        else i++;
      }
    }
    const offset = out.length;
    while (i < n && (text[i] !== endChar || (isPre && !(text[i + 1] === '`' && text[i + 2] === '`')))) out += text[i++];
    if (i >= n) throw new ParseError(`Can't find end of the entity starting at byte offset ${byteOffset(text, begin)}`);
    const length = out.length - offset;
    if (length > 0) {
      if (c === '_') entities.push({ type: 'italic', offset, length });
      else if (c === '*') entities.push({ type: 'bold', offset, length });
      else if (c === '`') entities.push(isPre && language !== '' ? { type: 'pre', offset, length, language } : { type: isPre ? 'pre' : 'code', offset, length });
      else {
        let url: string;
        if (text[i + 1] !== '(') {
          url = text.slice(begin + 1, i);
        } else {
          i += 2;
          const urlBegin = i;
          while (i < n && text[i] !== ')') i++;
          url = text.slice(urlBegin, i);
        }
        const link = linkEntity(offset, length, url);
        if (link !== undefined) entities.push(link);
      }
    }
    if (isPre) i += 2;
  }
  return { text: out, entities: sortEntities(entities) };
}


// Which language a person reads (from the platform's locale code) and numbers and durations written for it (Intl).
import { text } from './texts.ts';

/** The languages every text of the catalogue exists in. */
export const LOCALES = ['en', 'zh-CN', 'ru'] as const;
export type Locale = (typeof LOCALES)[number];

/**
 * A platform's locale code as one of ours: Telegram's `language_code` (IETF, `ru`, `zh-hans`), Discord's
 * `interaction.locale` (`zh-CN`, `ru`, `en-US`). Any Chinese reads Simplified; anything unknown reads English.
 */
export function resolveLocale(code: string | null | undefined): Locale {
  const lower = (code ?? '').trim().toLowerCase().replace(/_/g, '-');
  if (lower === 'zh' || lower.startsWith('zh-')) return 'zh-CN';
  if (lower === 'ru' || lower.startsWith('ru-')) return 'ru';
  return 'en';
}

/** True when `value` names one of our languages exactly (a /settings choice). */
export function isLocale(value: string): value is Locale {
  return (LOCALES as readonly string[]).includes(value);
}

/** A number with a fixed count of decimals in the locale's digits and separators (1.5 / 1,5). */
export function formatNumber(value: number, locale: string, fractionDigits = 0): string {
  // Grouping off: durations and counts here are short, and English keeps its "1234.5 s" form.
  return new Intl.NumberFormat(safeLocale(locale), { minimumFractionDigits: fractionDigits, maximumFractionDigits: fractionDigits, useGrouping: false }).format(value);
}

/** Seconds as the stats show them: two decimals under 10 s, one above. */
export function formatSeconds(seconds: number, locale: string): string {
  return text('unit.seconds', { n: formatNumber(seconds, locale, seconds < 10 ? 2 : 1) }, locale);
}

/** A wait as a person reads it: seconds under 90 s, minutes under 90 min, hours (one decimal) beyond. */
export function formatDuration(seconds: number, locale: string): string {
  if (seconds < 90) return text('unit.seconds', { n: formatNumber(Math.max(1, Math.round(seconds)), locale) }, locale);
  const minutes = Math.round(seconds / 60);
  if (minutes < 90) return text('unit.minutes', { n: formatNumber(minutes, locale) }, locale);
  return text('unit.hours', { n: formatNumber(minutes / 60, locale, 1) }, locale);
}

// Intl throws on a malformed tag; a locale we do not know formats as English.
function safeLocale(locale: string): string {
  return isLocale(locale) ? locale : 'en';
}

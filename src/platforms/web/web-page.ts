// The page's HTML: plain, accessible markup that reads on a phone; static/app.js brings it to life (form
// submits, Server-Sent Events). Every text comes from the catalogue and is escaped here.
import type { PresetBook } from '../../../config/presets.ts';
import { LOCALES } from '../../core/locale.ts';
import { text } from '../../core/texts.ts';
import type { UserSettings } from '../../core/user-settings.ts';

export interface PageModel {
  presets: PresetBook;
  csrf: string;
  demoModel: boolean;
  promptMaxChars: number;
  /** The user's /settings, shown in the settings form. */
  settings?: UserSettings;
}

/** The /settings form: posts to /api/settings (no script needed); an empty choice is the bot's default. */
function settingsForm(m: PageModel): string {
  const s = m.settings ?? {};
  const unset = escapeHtml(text('settings.unset'));
  const select = (name: string, values: readonly { value: string; label: string }[], current: string | undefined) =>
    `<select id="settings-${name}" name="${name}"><option value="">${unset}</option>${values
      .map((v) => `<option value="${escapeHtml(v.value)}"${v.value === current ? ' selected' : ''}>${escapeHtml(v.label)}</option>`)
      .join('')}</select>`;
  return `<details id="settings"><summary>${escapeHtml(text('settings.title'))}</summary>
<form id="settings-form" method="post" action="/api/settings">
<input type="hidden" name="csrf" value="${escapeHtml(m.csrf)}">
<label for="settings-preset">${escapeHtml(text('command.settings.preset'))}</label>
${select('preset', m.presets.names.map((n) => ({ value: n, label: n })), s.preset)}
<label for="settings-negativePrompt">${escapeHtml(text('command.settings.negative'))}</label>
<input id="settings-negativePrompt" name="negativePrompt" autocomplete="off" value="${escapeHtml(s.negativePrompt ?? '')}">
<label for="settings-language">${escapeHtml(text('command.settings.language'))}</label>
${select('language', LOCALES.map((l) => ({ value: l, label: text(`language.${l}`) })), s.language)}
<label for="settings-stats">${escapeHtml(text('command.settings.stats'))}</label>
${select('stats', (['full', 'short'] as const).map((v) => ({ value: v, label: text(`settings.stats_${v}`) })), s.stats)}
<button type="submit">${escapeHtml(text('web.settings_save'))}</button>
<button type="submit" name="action" value="reset">${escapeHtml(text('web.settings_reset'))}</button>
</form>
</details>`;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

/** The words app.js needs, handed over as JSON (a data block: CSP forbids inline scripts). */
function clientTexts(): Record<string, string> {
  return {
    cancel: text('button.cancel'),
    reroll: text('button.reroll'),
    liveLost: text('web.live_lost'),
    noneYet: text('web.none_yet'),
    demo: text('demo_model'),
    internal: text('internal'),
    seedLine: text('web.seed_line', { seed: '{seed}' }),
  };
}

export function renderPage(m: PageModel): string {
  const options = m.presets.names
    .map((name) => {
      const preset = m.presets.byName.get(name)!;
      const label = `${name}: ${preset.width}x${preset.height}, ${preset.frames} frames, ${preset.steps} steps`;
      return `<option value="${escapeHtml(name)}"${name === m.presets.defaultName ? ' selected' : ''} title="${escapeHtml(preset.description)}">${escapeHtml(label)}</option>`;
    })
    .join('');
  const banner = m.demoModel ? `<p class="banner" role="note" id="demo-banner">⚠ ${escapeHtml(text('demo_model'))}</p>` : '';
  // JSON inside a data block: `<` escaped so no string can close the script element.
  const texts = JSON.stringify(clientTexts()).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(text('web.title'))}</title>
<link rel="stylesheet" href="/static/app.css">
<script src="/static/app.js" defer></script>
</head>
<body>
<header>
<h1>${escapeHtml(text('web.title'))}</h1>
<p>${escapeHtml(text('web.tagline'))}</p>
</header>
${banner}
<main>
<form id="make" method="post" action="/api/videos" enctype="multipart/form-data" novalidate>
<input type="hidden" name="csrf" value="${escapeHtml(m.csrf)}">
<label for="prompt">${escapeHtml(text('web.prompt'))}</label>
<textarea id="prompt" name="prompt" rows="3" aria-describedby="prompt-hint" placeholder="${escapeHtml(text('help.example_prompt'))}"></textarea>
<small id="prompt-hint">${escapeHtml(text('web.prompt_hint', { max: m.promptMaxChars }))}</small>
<div class="row">
<div><label for="preset">${escapeHtml(text('web.preset'))}</label>
<select id="preset" name="preset">${options}</select></div>
<div><label for="seed">${escapeHtml(text('web.seed'))}</label>
<input id="seed" name="seed" inputmode="numeric" autocomplete="off" aria-describedby="seed-hint">
<small id="seed-hint">${escapeHtml(text('web.seed_hint'))}</small></div>
</div>
<label for="negative">${escapeHtml(text('web.negative'))}</label>
<input id="negative" name="negativePrompt" autocomplete="off" aria-describedby="negative-hint">
<small id="negative-hint">${escapeHtml(text('command.video.negative'))}</small>
<label for="image">${escapeHtml(text('web.image'))}</label>
<input id="image" name="image" type="file" accept="image/jpeg,image/png,image/webp" aria-describedby="image-hint">
<small id="image-hint">${escapeHtml(text('command.video.image'))}</small>
<button type="submit">${escapeHtml(text('web.submit'))}</button>
<p id="message" role="status" aria-live="polite"></p>
</form>
${settingsForm(m)}
<section aria-labelledby="clips-title">
<h2 id="clips-title">${escapeHtml(text('web.recent'))}</h2>
<p id="live" role="status" aria-live="polite"></p>
<p id="none">${escapeHtml(text('web.none_yet'))}</p>
<ol id="clips"></ol>
</section>
</main>
<noscript><p class="banner">${escapeHtml(text('web.no_script'))}</p></noscript>
<script type="application/json" id="texts">${texts}</script>
</body>
</html>
`;
}

/** A small page for answers to a form posted without JavaScript. */
export function renderMessagePage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(text('web.title'))}</title><link rel="stylesheet" href="/static/app.css"></head>
<body><main><p role="status">${escapeHtml(message)}</p><p><a href="/">${escapeHtml(text('web.title'))}</a></p></main></body></html>
`;
}

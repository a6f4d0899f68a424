// The chart as one self-contained HTML file: the data as JSON, the drawing code (client.js) and the style
// (page.css) inline, and a Content-Security-Policy that forbids the page any network request.
import { readFileSync } from 'node:fs';
import type { ChartData } from './data.ts';

const CSS = readFileSync(new URL('./page.css', import.meta.url), 'utf8');
const CLIENT = readFileSync(new URL('./client.js', import.meta.url), 'utf8');

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** JSON that can sit inside a <script> element (no "</script>", no "<!--"). */
function scriptJson(v: unknown): string {
  return JSON.stringify(v).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

const KEYS = '↓/j ↑/k step · PgUp/PgDn ±20 · Home/End · d first divergence or broken invariant · +/- zoom · f fit · 0 reset';

function toolbar(data: ChartData | null): string {
  const trouble = data === null || data.divergence !== null || data.verdict !== null || data.events.some((e) => (e.broken?.length ?? 0) > 0);
  return (
    '<div class="toolbar">' +
    '<button id="zoom-out" title="zoom out (-)">−</button><button id="zoom-in" title="zoom in (+)">+</button><button id="zoom-fit" title="fit the whole run (f)">fit</button>' +
    (trouble ? '<button id="jump-trouble" title="d">first divergence / broken invariant</button>' : '') +
    '<button id="jump-end" title="End">last step</button>' +
    `<span class="keys">${escapeHtml(KEYS)}</span></div>`
  );
}

export interface PageParts {
  readonly title: string;
  /** Lines under the title. */
  readonly notes: readonly string[];
  /** HTML after the panel (the explorer's column). */
  readonly extraColumn?: string;
  /** Script after the chart's (the explorer's). */
  readonly extraScript?: string;
  /** The chart's data, embedded; absent when a script provides it (the explorer). */
  readonly data?: ChartData;
  /** connect-src of the page's policy: 'none' for a file, 'self' for the explorer. */
  readonly connect: "'none'" | "'self'";
}

export function page(p: PageParts): string {
  const csp = `default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:; connect-src ${p.connect}; form-action 'none'; base-uri 'none'`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(p.title)}</title>
<style>${CSS}</style>
</head>
<body>
<header>
<h1 id="title">${escapeHtml(p.title)}</h1>
<p class="notes" id="notes">${p.notes.map(escapeHtml).join('<br>')}</p>
${toolbar(p.data ?? null)}
</header>
<main>
<div id="chart" tabindex="0" aria-label="message sequence chart"><div id="heads"></div><svg id="svg" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="message sequence chart"></svg><div id="end"></div></div>
<aside id="panel" aria-live="polite"></aside>
${p.extraColumn ?? ''}
</main>
${p.data === undefined ? '' : `<script type="application/json" id="chart-data">${scriptJson(p.data)}</script>`}
<script>${CLIENT}</script>
${p.extraScript === undefined ? '' : `<script>${p.extraScript}</script>`}
</body>
</html>
`;
}

export function chartPage(data: ChartData): string {
  const counts = `${data.servers.length} servers, ${data.events.length} events, ${data.arrows.length} messages (${data.arrows.filter((a) => a.lost).length} lost)`;
  return page({ title: data.title, notes: [`spec: ${data.spec}`, counts, ...data.notes], data, connect: "'none'" });
}

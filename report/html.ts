/**
 * The report page: one HTML file with vega and vega-lite inlined from node_modules (no network,
 * no server: it opens from a downloaded artifact folder), each figure's Vega-Lite spec embedded as
 * JSON and drawn as SVG in the browser, and links to the pre-rendered figures/<name>.svg|png.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Figure } from './figures.ts';

const LIBS = ['vega/build/vega.min.js', 'vega-lite/build/vega-lite.min.js'];
let libCache: string[] | undefined;

/** The minified builds, read once; a missing one names the path it looked for. */
export function libraries(): string[] {
  if (!libCache) {
    const roots = [join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules'), join(process.cwd(), 'node_modules')];
    libCache = LIBS.map((lib) => {
      for (const r of roots) {
        try {
          return readFileSync(join(r, lib), 'utf8');
        } catch {}
      }
      throw new Error(`report: cannot read ${lib} under ${roots.join(' or ')}; run npm ci`);
    });
  }
  return libCache;
}

export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** JSON safe inside a <script> element. */
export function scriptJson(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** JavaScript source safe inside a <script> element. */
export function scriptSource(src: string): string {
  return src.replace(/<\/(script)/gi, '<\\/$1');
}

export const STYLE = `
body { font-family: system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; margin: 0; color: #222; background: #fafafa; }
main { max-width: 1180px; margin: 0 auto; padding: 16px 24px 48px; }
h1 { font-size: 1.6em; margin: 0.4em 0 0.2em; }
h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { font-size: 1.05em; margin: 0 0 6px; }
.meta, table.data { border-collapse: collapse; font-size: 0.9em; margin: 8px 0 16px; }
.meta td, .meta th, table.data td, table.data th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; background: white; }
table.data td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.data tr.best td { background: #eef6ee; }
figure { background: white; border: 1px solid #e3e3e3; border-radius: 6px; margin: 16px 0; padding: 12px 14px; overflow-x: auto; }
figcaption { font-size: 0.88em; color: #444; margin-top: 8px; max-width: 1000px; line-height: 1.4; }
.chart { min-height: 40px; }
.failed .chart { color: #b00; }
.yes { color: #1a7f37; font-weight: bold; } .no { color: #b42318; font-weight: bold; } .na { color: #888; } .caveat { color: #9a6700; font-weight: bold; } .readings { border-left: 4px solid #9a6700; padding-left: 0.8em; }
nav ul { columns: 2; font-size: 0.9em; }
.warn { background: #fff4e5; border: 1px solid #f0c36d; padding: 8px 12px; border-radius: 6px; }
pre { background: white; border: 1px solid #ddd; padding: 8px; overflow-x: auto; font-size: 0.85em; }
`;

const RENDER_SCRIPT = `
(async () => {
  for (const fig of document.querySelectorAll('figure[data-spec]')) {
    const chart = fig.querySelector('.chart');
    try {
      const spec = JSON.parse(document.getElementById(fig.dataset.spec).textContent);
      const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'svg', container: chart, hover: true });
      await view.runAsync();
      fig.classList.add('rendered');
    } catch (e) {
      fig.classList.add('failed');
      chart.textContent = 'This figure could not be drawn (' + e.message + '); the SVG and PNG links below still work.';
      console.error(e);
    }
  }
  document.body.dataset.rendered = 'true';
})();
`;

export interface PageSection {
  id: string;
  title: string;
  /** HTML placed before the section's figures. */
  intro?: string;
  figures: Figure[];
  /** HTML placed after the section's figures. */
  outro?: string;
}

export function figureHtml(f: Figure): string {
  const id = `spec-${f.name}`;
  return `<figure id="fig-${f.name}" class="figure" data-spec="${id}">
<h3>${escapeHtml(f.title)}</h3>
<div class="chart"></div>
<noscript><img src="figures/${f.name}.svg" alt="${escapeHtml(f.title)}"></noscript>
<figcaption>${escapeHtml(f.caption)} <a href="figures/${f.name}.svg">SVG</a> · <a href="figures/${f.name}.png">PNG</a></figcaption>
<script type="application/json" id="${id}">${scriptJson(f.spec)}</script>
</figure>`;
}

export function page(opts: { title: string; header: string; sections: PageSection[]; footer?: string; withFigures: boolean }): string {
  const toc = opts.sections
    .filter((s) => s.figures.length > 0 || s.intro || s.outro)
    .map((s) => `<li><a href="#${s.id}">${escapeHtml(s.title)}</a></li>`)
    .join('');
  const body = opts.sections
    .filter((s) => s.figures.length > 0 || s.intro || s.outro)
    .map(
      (s) =>
        `<section id="${s.id}"><h2>${escapeHtml(s.title)}</h2>${s.intro ?? ''}${s.figures.map(figureHtml).join('\n')}${s.outro ?? ''}</section>`,
    )
    .join('\n');
  const scripts = opts.withFigures
    ? libraries()
        .map((src) => `<script>${scriptSource(src)}</script>`)
        .join('\n')
    : '';
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(opts.title)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
${opts.header}
${toc ? `<nav><h2>Contents</h2><ul>${toc}</ul></nav>` : ''}
${body}
${opts.footer ?? ''}
</main>
${scripts}
${opts.withFigures ? `<script>${RENDER_SCRIPT}</script>` : ''}
</body>
</html>
`;
}

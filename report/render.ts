/**
 * Figures without a browser: Vega-Lite → Vega → SVG with vega's headless View (renderer `none`),
 * then SVG → PNG with resvg. resvg draws text only with fonts it can load: DejaVu Sans (Debian's
 * fonts-dejavu-core, which chromium's font configuration pulls in) when present, else whatever
 * system fonts exist.
 */
import { existsSync } from 'node:fs';
import { Resvg, type ResvgRenderOptions } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

const DEJAVU = ['/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf', '/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf'];

let fontOptions: ResvgRenderOptions['font'] | undefined;
function fonts(): ResvgRenderOptions['font'] {
  if (!fontOptions) {
    const files = DEJAVU.filter((f) => existsSync(f));
    fontOptions =
      files.length > 0
        ? { loadSystemFonts: false, fontFiles: files, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' }
        : { loadSystemFonts: true };
  }
  return fontOptions;
}

// Advance widths (1/1000 em) of DejaVu Sans and DejaVu Sans Bold for ASCII 32..126 and a few
// symbols the figures use, read from the fonts' hmtx tables. vega without a canvas estimates every
// character at 0.8 em, which spreads concatenated panels far apart; these widths match what resvg
// draws (DejaVu Sans is its sans-serif family here).
const REGULAR = [
  318, 401, 460, 838, 636, 950, 780, 275, 390, 390, 500, 838, 318, 361, 318, 337, 636, 636, 636, 636, 636, 636, 636, 636, 636, 636, 337,
  337, 838, 838, 838, 531, 1000, 684, 686, 698, 770, 632, 575, 775, 752, 295, 295, 656, 557, 863, 748, 787, 603, 787, 695, 635, 611, 732,
  684, 989, 685, 611, 685, 390, 337, 390, 838, 500, 500, 613, 635, 550, 635, 615, 352, 635, 634, 278, 278, 579, 278, 974, 634, 612, 635,
  635, 411, 521, 392, 634, 592, 818, 592, 592, 525, 636, 337, 636, 838,
];
const BOLD = [
  348, 456, 521, 838, 696, 1002, 872, 306, 457, 457, 523, 838, 380, 415, 380, 365, 696, 696, 696, 696, 696, 696, 696, 696, 696, 696, 400,
  400, 838, 838, 838, 580, 1000, 774, 762, 734, 830, 683, 683, 821, 837, 372, 372, 775, 637, 995, 837, 850, 733, 850, 770, 720, 682, 812,
  774, 1103, 771, 724, 725, 457, 365, 457, 838, 500, 500, 675, 716, 593, 716, 678, 435, 716, 712, 343, 343, 665, 343, 1042, 712, 687, 716,
  716, 493, 595, 478, 712, 652, 924, 645, 652, 582, 712, 365, 712, 838,
];
const SYMBOLS: Record<string, [number, number]> = {
  Δ: [684, 774],
  '·': [318, 380],
  '’': [318, 380],
  '‘': [318, 380],
  '–': [500, 500],
  '—': [1000, 1000],
  '×': [838, 838],
  '→': [838, 838],
  '±': [838, 838],
  λ: [592, 633],
  θ: [612, 687],
  '⊥': [871, 914],
  '≤': [838, 838],
  '≥': [838, 838],
  '…': [1000, 1000],
  '²': [401, 438],
};

/** Width in pixels of `text` in DejaVu Sans at `size` px. */
export function textWidth(text: string, size: number, bold = false): number {
  let w = 0;
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp >= 32 && cp < 127) w += (bold ? BOLD : REGULAR)[cp - 32];
    else w += SYMBOLS[ch]?.[bold ? 1 : 0] ?? 650;
  }
  return (w * size) / 1000;
}

type TextItem = { fontSize?: number; fontWeight?: string | number };
(vega as unknown as { textMetrics: { width: (item: TextItem, text: unknown) => number } }).textMetrics.width = (item, text) => {
  const s = text == null ? '' : String(text).trim();
  const weight = item.fontWeight;
  const bold =
    weight === 'bold' || weight === 'bolder' || (typeof weight === 'number' && weight >= 600) || weight === '600' || weight === '700';
  return textWidth(s, item.fontSize ?? 11, bold);
};

export function toVega(spec: TopLevelSpec): vega.Spec {
  return compile(spec).spec as vega.Spec;
}

export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(toVega(spec)), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** PNG at `scale` times the SVG's size, on white. */
export function svgToPng(svg: string, scale = 2): Uint8Array {
  const r = new Resvg(svg, { background: 'white', fitTo: { mode: 'zoom', value: scale }, font: fonts() });
  return new Uint8Array(r.render().asPng());
}

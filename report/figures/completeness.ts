/** The report's figures of one section: the completeness error of each POLCA variant. */
import { binNote, type Figure, logAxis, r4, type Shared, spec, VARIANT_COLORS } from './common.ts';
import { HIST_LO, HIST_STEP, type ReportData, thin } from '../data.ts';

export function completenessFigures(data: ReportData, shared: Shared): Figure[] {
  const figs: Figure[] = [];
  const { T1 } = shared;
  // ---- completeness
  const comp = data.completeness;
  if (comp && comp.perInterval.length > 0) {
    const its = data.checkpointIterations;
    const at = (iv: number) => its[iv + 1] ?? iv + 1;
    const long: Record<string, unknown>[] = [];
    for (const v of comp.variants) {
      const rows = comp.perInterval
        .filter((r) => r.variant === v)
        .map((r) => ({ iteration: at(r.interval), q50: r.q50, q90: r.q90, max: r.max, d: r.medAbsDloss }));
      for (const r of thin(rows, 300, ['iteration', 'q50', 'q90', 'max', 'd'])) {
        long.push({ variant: v, stat: 'median', iteration: r4(r.iteration), value: r4(r.q50) });
        long.push({ variant: v, stat: '90%', iteration: r4(r.iteration), value: r4(r.q90) });
        long.push({ variant: v, stat: 'max', iteration: r4(r.iteration), value: r4(r.max) });
        if (v === comp.variants[0]) long.push({ variant: 'median |ΔL|', stat: 'median', iteration: r4(r.iteration), value: r4(r.d) });
      }
    }
    const hist: Record<string, unknown>[] = [];
    for (const h of comp.histogram) {
      const total = h.counts.reduce((s, c) => s + c, 0);
      h.counts.forEach((c, b) => {
        hist.push({ variant: h.variant, log10: HIST_LO + b * HIST_STEP, share: r4(c / total) });
      });
    }
    const colorDomain = [...comp.variants, 'median |ΔL|'];
    const colorRange = [...comp.variants.map((v) => VARIANT_COLORS[v] ?? '#9467bd'), '#999'];
    const ov = comp.overall.map((o) => `${o.variant}: median ${r4(o.q50)}, 99% ${r4(o.q99)}, max ${r4(o.max)}`).join('; ');
    figs.push({
      name: 'completeness',
      section: 'completeness',
      title: 'Completeness error of each POLCA variant',
      caption:
        `The completeness error ΔL_x(t) − Σ_b POLCA(x, b, t) (for path, with the out-of-span row) per token and interval — what the decomposition leaves unexplained. (a) Its median, 90% quantile and maximum in absolute value over the tokens of each interval (log scale), with the median |ΔL| for scale (grey), drawn at the interval’s end; (b) the distribution of log10|error| over all (token, interval) pairs, as shares per bin of ${HIST_STEP} (errors below 10^${HIST_LO}, exact zeros included, fall in the first bin). Overall |error|: ${ov}.` +
        binNote(T1 - 1, 300, 'intervals'),
      spec: spec({
        hconcat: [
          {
            width: 400,
            height: 240,
            title: '(a) |error| quantiles per interval',
            data: { values: long },
            transform: [{ filter: 'datum.value > 0' }],
            mark: { type: 'line', strokeWidth: 1.3 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: {
                field: 'value',
                type: 'quantitative',
                scale: { type: 'log' },
                title: '|error|',
                axis: logAxis(long.map((r) => r.value as number | null)),
              },
              color: { field: 'variant', type: 'nominal', scale: { domain: colorDomain, range: colorRange } },
              strokeDash: {
                field: 'stat',
                type: 'nominal',
                title: 'quantile',
                scale: {
                  domain: ['median', '90%', 'max'],
                  range: [
                    [1, 0],
                    [5, 3],
                    [1, 2],
                  ],
                },
              },
              tooltip: [{ field: 'variant' }, { field: 'stat' }, { field: 'iteration' }, { field: 'value' }],
            },
          },
          {
            width: 320,
            height: 240,
            title: '(b) distribution of log10|error|',
            data: { values: hist },
            mark: { type: 'line', interpolate: 'step-after', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'log10', type: 'quantitative', title: 'log10 |error|' },
              y: { field: 'share', type: 'quantitative', title: 'share of (token, interval) pairs' },
              color: { field: 'variant', type: 'nominal', scale: { domain: colorDomain, range: colorRange } },
              tooltip: [{ field: 'variant' }, { field: 'log10' }, { field: 'share' }],
            },
          },
        ],
        resolve: { scale: { color: 'shared' } },
      }),
    });
  }
  return figs;
}

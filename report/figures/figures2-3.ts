/** The report's figures of one section: the paper's Figures 2–3: per-digit loss and |ΔL|, mean ± sd. */
import { binNote, DIGIT_COLORS, type Figure, r4, type Shared, spec } from './common.ts';
import { DIGIT_NAMES, type ReportData } from '../data.ts';

export function figures2to3Figures(data: ReportData, shared: Shared): Figure[] {
  const figs: Figure[] = [];
  const { T1 } = shared;
  // ---- Figures 2–3
  const meanStd = (name: string, title: string, caption: string, rows: ReportData['lossByDigit'], yTitle: string): Figure => ({
    name,
    section: 'digits',
    title,
    caption,
    spec: spec({
      width: 560,
      height: 260,
      data: {
        values: rows.map((r) => ({
          iteration: r.iteration,
          digit: r.digit,
          mean: r4(r.mean),
          lo: r4(r.mean - r.std),
          hi: r4(r.mean + r.std),
          std: r4(r.std),
        })),
      },
      encoding: {
        x: { field: 'iteration', type: 'quantitative' },
        color: { field: 'digit', type: 'nominal', scale: { domain: [...DIGIT_NAMES], range: DIGIT_COLORS } },
      },
      layer: [
        {
          mark: { type: 'area', opacity: 0.15 },
          encoding: { y: { field: 'lo', type: 'quantitative', title: yTitle }, y2: { field: 'hi' } },
        },
        {
          mark: { type: 'line', strokeWidth: 1.6 },
          encoding: {
            y: { field: 'mean', type: 'quantitative' },
            tooltip: [{ field: 'digit' }, { field: 'iteration' }, { field: 'mean' }, { field: 'std' }],
          },
        },
      ],
    }),
  });
  if (data.lossByDigit.length > 0)
    figs.push(
      meanStd(
        'fig2-loss-by-digit',
        'Figure 2: loss per digit, mean ± standard deviation',
        'Mean (line) and ± one standard deviation (band) over the evaluation tokens of each output digit of the per-token loss at each checkpoint.' +
          binNote(T1, 400),
        data.lossByDigit,
        'per-token loss',
      ),
    );
  if (data.absdByDigit.length > 0)
    figs.push(
      meanStd(
        'fig3-absdloss-by-digit',
        'Figure 3: |ΔL| per digit, mean ± standard deviation',
        'Mean (line) and ± one standard deviation (band) over the tokens of each digit of the loss-change magnitude |ℓ_x(θ_{t+1}) − ℓ_x(θ_t)|, drawn at the iteration of checkpoint t+1.' +
          binNote(T1 - 1, 400),
        data.absdByDigit,
        'per-token |ΔL|',
      ),
    );
  return figs;
}

/** The report's figures of one section: the basis: eigenvalues, source checkpoints, Lanczos residuals. */
import { type Figure, logAxis, r4, type Shared, spec } from './common.ts';
import type { ReportData } from '../data.ts';

export function basisFigures(data: ReportData, _shared: Shared): Figure[] {
  const figs: Figure[] = [];
  // ---- basis
  if (data.basis.length > 0) {
    const values = data.basis.map((b) => ({
      vector: b.vector,
      iteration: b.iteration,
      eigenvalue: r4(b.eigenvalue),
      residual: r4(b.residual),
      relative: r4(b.residual / Math.abs(b.eigenvalue)),
      lanczos: b.lanczosIterations,
      converged: b.converged === undefined ? 'not recorded' : b.converged ? 'yes' : 'no',
    }));
    const tol = (data.config?.basis as { tol?: number } | undefined)?.tol;
    const tip = [
      { field: 'vector' },
      { field: 'iteration', title: 'source iteration' },
      { field: 'eigenvalue' },
      { field: 'residual' },
      { field: 'relative' },
      { field: 'lanczos', title: 'Lanczos iterations' },
      { field: 'converged', title: 'residual within tolerance' },
    ];
    figs.push({
      name: 'basis',
      section: 'basis',
      title: 'Basis vectors: eigenvalue, source checkpoint, Lanczos residual',
      caption:
        `The ${data.basis.length} basis vectors in the order they were added: (a) the eigenvalue λ of P·H_S·P each came with (the largest algebraic eigenvalue of the Hessian projected off the earlier vectors); (b) the iteration of the checkpoint it was computed at; (c) its Lanczos residual ‖PHPv − λv‖, absolute and relative to |λ|` +
        (tol ? ` (dashed: the tolerance ${tol} on the relative residual).` : '.'),
      spec: spec({
        data: { values },
        hconcat: [
          {
            width: 230,
            height: 180,
            title: '(a) eigenvalue',
            mark: { type: 'line', point: true },
            encoding: {
              x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
              y: { field: 'eigenvalue', type: 'quantitative' },
              tooltip: tip,
            },
          },
          {
            width: 230,
            height: 180,
            title: '(b) source checkpoint',
            mark: { type: 'point', filled: true },
            encoding: {
              x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
              y: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              tooltip: tip,
            },
          },
          {
            width: 230,
            height: 180,
            title: '(c) Lanczos residual',
            layer: [
              {
                transform: [{ fold: ['residual', 'relative'], as: ['kind', 'value'] }, { filter: 'datum.value > 0' }],
                mark: { type: 'line', point: true },
                encoding: {
                  x: { field: 'vector', type: 'quantitative', axis: { tickMinStep: 1 } },
                  y: {
                    field: 'value',
                    type: 'quantitative',
                    scale: { type: 'log' },
                    title: 'residual',
                    axis: logAxis(values.flatMap((v) => [v.residual, v.relative])),
                  },
                  color: {
                    field: 'kind',
                    type: 'nominal',
                    title: null,
                    scale: { domain: ['residual', 'relative'], range: ['#4c78a8', '#e45756'] },
                  },
                  tooltip: tip,
                },
              },
              ...(tol
                ? [
                    {
                      data: { values: [{ tol }] },
                      mark: { type: 'rule', strokeDash: [4, 3], color: '#e45756' },
                      encoding: { y: { field: 'tol', type: 'quantitative' } },
                    },
                  ]
                : []),
            ],
          },
        ],
      }),
    });
  }
  return figs;
}

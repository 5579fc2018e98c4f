/** The report's figures of one section: the training and evaluation curves. */
import { binNote, DIGIT_COLORS, type Figure, logAxis, r4, type Shared, spec } from './common.ts';
import { DIGIT_NAMES, type ReportData } from '../data.ts';

export function trainingFigures(data: ReportData, shared: Shared): Figure[] {
  const figs: Figure[] = [];
  const { T1 } = shared;
  // ---- training
  if (data.trainLoss.length > 0) {
    figs.push({
      name: 'training-loss',
      section: 'training',
      title: 'Training loss',
      caption:
        'Training loss (mean cross-entropy of the batch’s output tokens) per optimizer iteration, log scale, and the learning-rate schedule.' +
        (data.trainLossBin > 1 ? ` Averaged over bins of ${data.trainLossBin} consecutive iterations to keep the page small.` : ''),
      spec: spec({
        data: { values: data.trainLoss.filter((r) => r.loss > 0).map((r) => ({ iteration: r.iteration, loss: r4(r.loss), lr: r4(r.lr) })) },
        hconcat: [
          {
            width: 520,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.2 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              y: {
                field: 'loss',
                type: 'quantitative',
                scale: { type: 'log' },
                title: 'training loss',
                axis: logAxis(data.trainLoss.map((r) => r.loss)),
              },
              tooltip: [{ field: 'iteration' }, { field: 'loss' }],
            },
          },
          {
            width: 220,
            height: 220,
            mark: { type: 'line', color: '#888' },
            encoding: {
              x: { field: 'iteration', type: 'quantitative', title: 'iteration' },
              y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } },
            },
          },
        ],
      }),
    });
  }
  if (data.evalByDigit.length > 0) {
    const colorDigits = {
      field: 'digit',
      type: 'nominal',
      title: 'digit',
      scale: { domain: [...DIGIT_NAMES, 'all'], range: [...DIGIT_COLORS, '#222'] },
    };
    const values = data.evalByDigit.map((r) => ({ iteration: r.iteration, digit: r.digit, loss: r4(r.loss), accuracy: r4(r.accuracy) }));
    figs.push({
      name: 'eval-by-digit',
      section: 'training',
      title: 'Evaluation loss and accuracy per digit',
      caption:
        `Mean per-token loss (log scale) and token accuracy (argmax equals the target digit) on the ${data.tokens?.n ?? ''} evaluation tokens at each checkpoint, per output digit and over all tokens (black).` +
        (data.final
          ? ` At the last checkpoint (iteration ${data.final.iteration}): loss ${r4(data.final.loss)}, token accuracy ${r4(data.final.accuracy)}, exact match (all four digits right) ${r4(data.final.exactMatch)}.`
          : '') +
        binNote(T1, 400),
      spec: spec({
        data: { values },
        hconcat: [
          {
            width: 360,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: {
                field: 'loss',
                type: 'quantitative',
                scale: { type: 'log' },
                title: 'mean evaluation loss',
                axis: logAxis(values.map((r) => r.loss)),
              },
              color: colorDigits,
              tooltip: [{ field: 'iteration' }, { field: 'digit' }, { field: 'loss' }, { field: 'accuracy' }],
            },
          },
          {
            width: 360,
            height: 220,
            mark: { type: 'line', strokeWidth: 1.5 },
            encoding: {
              x: { field: 'iteration', type: 'quantitative' },
              y: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, title: 'token accuracy' },
              color: colorDigits,
              tooltip: [{ field: 'iteration' }, { field: 'digit' }, { field: 'accuracy' }],
            },
          },
        ],
      }),
    });
  }
  return figs;
}

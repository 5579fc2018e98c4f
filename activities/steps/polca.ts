/** The `polca` step: POLCA for one chunk of checkpoint intervals (core/attribution/polca.ts). */
import { stepKey } from '../../artifacts/index.ts';
import type { Config, PolcaVariant } from '../../config/schema.ts';
import { type Derivatives, type PolcaIntervalResult, polcaInterval } from '../../core/attribution/polca.ts';
import { checkpointIterations } from '../../core/train/schedule.ts';
import { segmentIntervals } from '../../pipeline/plan.ts';
import { runStep, type StepContext, type StepResult, yieldNow } from './context.ts';
import { defineStep } from './define.ts';
import { loadIntervalResults, saveIntervalResults } from './interval-results.ts';
import { backend, chunkKeyParams, concat, evaluationModel, loadBasis, loadChunkCheckpoints, parquet } from './io.ts';

const VARIANTS_FROM_DERIVATIVES = ['paper', 'exact-curvature'] as const;

/**
 * POLCA for the intervals starting in [s·E, (s+1)·E) with the final basis. Derivatives at each
 * checkpoint are computed once and shared by the two intervals that meet there; the `paper` and
 * `exact-curvature` completeness errors come from the same derivatives and are always recorded.
 */
export async function polcaStep(
  ctx: StepContext,
  c: Config,
  s: number,
  inputs: { data: string; basis: string; train: string; prevTrain?: string },
): Promise<StepResult> {
  const { first, count } = segmentIntervals(c, s);
  const its = checkpointIterations(c.train);
  const spec = {
    step: 'polca',
    version: polcaDef.version,
    params: {
      ...chunkKeyParams(c),
      polca: c.polca,
      intervals: [first, first + count],
    },
    inputs: {
      data: inputs.data,
      basis: inputs.basis,
      train: inputs.train,
      ...(inputs.prevTrain ? { prevTrain: inputs.prevTrain } : {}),
    },
  };
  return runStep(ctx, polcaDef.label(c, s, inputs), spec, async () => {
    await backend(c);
    const cps = await loadChunkCheckpoints(ctx, c, s, inputs);
    const basis = await loadBasis(ctx, inputs.basis);
    const model = await evaluationModel(c);
    /** Every variant's result per interval (completeness, summary), and the configured variant's (rows). */
    const computed: { variant: string; r: PolcaIntervalResult }[] = [];
    const chosen: PolcaIntervalResult[] = [];
    try {
      const derivs = new Map<number, Derivatives>();
      const at = (it: number) => {
        let dv = derivs.get(it);
        if (!dv) {
          const theta = cps.get(it);
          if (!theta) throw new Error(`polca/${s}: checkpoint ${it} is not among the inputs`);
          dv = model.tokenDerivatives(theta, basis);
          derivs.set(it, dv);
        }
        return dv;
      };
      const variants: PolcaVariant[] = c.polca.variant === 'path' ? [...VARIANTS_FROM_DERIVATIVES, 'path'] : [...VARIANTS_FROM_DERIVATIVES];
      const key = stepKey(spec);
      for (let i = 0; i < count; i++) {
        const interval = first + i;
        // A retry continues where an earlier attempt stopped: finished intervals are in scratch/.
        let results = await loadIntervalResults(ctx, key, interval);
        if (!results) {
          const itT = its[interval];
          const itT1 = its[interval + 1];
          const thetaT = cps.get(itT);
          const thetaT1 = cps.get(itT1);
          if (!thetaT || !thetaT1) throw new Error(`polca/${s}: checkpoints ${itT} and ${itT1} are needed`);
          const atT = at(itT);
          const atT1 = at(itT1);
          if (interval > 0) derivs.delete(its[interval - 1]);
          results = variants.map((variant) => ({
            variant,
            r: polcaInterval({ model, interval, thetaT, thetaT1, basis, polca: { ...c.polca, variant }, atT, atT1 }),
          }));
          await saveIntervalResults(ctx, key, interval, results);
        }
        for (const { variant, r } of results) {
          computed.push({ variant, r });
          if (variant === c.polca.variant) chosen.push(r);
        }
        ctx.heartbeat({ phase: 'polca', done: i + 1, total: count, interval });
        await yieldNow();
      }
    } finally {
      model.dispose();
    }
    const rows = chosen.map((r) => r.rows);
    const comp = computed.map(({ r }) => r.completeness);
    const summ = computed.map(({ r }) => r.summary);
    return {
      files: {
        'polca.parquet': parquet([
          [
            'interval',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.interval),
            ),
          ],
          [
            'token',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.token),
            ),
          ],
          [
            'vector',
            'int32',
            concat(
              Int32Array,
              rows.map((x) => x.vector),
            ),
          ],
          [
            'first',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.first),
            ),
          ],
          [
            'second',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.second),
            ),
          ],
          [
            'polca',
            'float32',
            concat(
              Float32Array,
              rows.map((x) => x.polca),
            ),
          ],
        ]),
        'completeness.parquet': parquet([
          ['variant', 'utf8', computed.flatMap(({ variant, r }) => new Array<string>(r.completeness.token.length).fill(variant))],
          [
            'interval',
            'int32',
            concat(
              Int32Array,
              comp.map((x) => x.interval),
            ),
          ],
          [
            'token',
            'int32',
            concat(
              Int32Array,
              comp.map((x) => x.token),
            ),
          ],
          [
            'dloss',
            'float32',
            concat(
              Float32Array,
              comp.map((x) => x.dloss),
            ),
          ],
          [
            'error',
            'float32',
            concat(
              Float32Array,
              comp.map((x) => x.error),
            ),
          ],
        ]),
        'summary.parquet': parquet([
          ['interval', 'int32', Int32Array.from(summ, (x) => x.interval)],
          ['variant', 'utf8', summ.map((x) => x.variant)],
          ['fallbacks', 'int32', Int32Array.from(summ, (x) => x.fallbacks)],
          ['panels', 'int32', Int32Array.from(summ, (x) => x.panels)],
          ['out_of_span', 'float64', Float64Array.from(summ, (x) => x.outOfSpan)],
          ['max_abs_error', 'float64', Float64Array.from(summ, (x) => x.maxAbsError)],
          ['within_tol', 'float64', Float64Array.from(summ, (x) => x.withinTol)],
        ]),
      },
      meta: {
        intervals: count,
        fallbacks: chosen.reduce((a, r) => a + r.summary.fallbacks, 0),
        maxAbsError: Math.max(...chosen.map((r) => r.summary.maxAbsError)),
      },
    };
  });
}

/** The `polca` step in the registry (activities/steps/registry.ts). */
export const polcaDef = defineStep({ version: '4', label: (_c, s, _inputs) => `polca/${s}`, run: polcaStep });

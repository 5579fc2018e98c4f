/**
 * Resume points finer than a step: POLCA keeps each finished interval's results
 * (activities/steps/interval-results.ts), the basis step keeps every Lanczos Hessian-vector
 * product (activities/steps/basis-products.ts). A step interrupted part-way and run again must
 * compute only what is missing and end with the bytes of an uninterrupted run in another store.
 * The steps run directly (no Temporal) on the `tiny` config in temporary local stores.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { resolveConfig } from '../../config/index.ts';
import type { Config } from '../../config/schema.ts';
import type { PolcaIntervalResult } from '../../core/attribution/polca.ts';
import type { Progress, StepContext } from '../../activities/steps/context.ts';
import { basisStep } from '../../activities/steps/basis.ts';
import { dataStep } from '../../activities/steps/data.ts';
import { decodeIntervalResults, encodeIntervalResults, type IntervalResults } from '../../activities/steps/interval-results.ts';
import { polcaStep } from '../../activities/steps/polca.ts';
import { trainStep } from '../../activities/steps/train.ts';
import { storeDigest } from '../../bench/experiment.ts';

/** A local backend that records the paths written, to tell computed resume points from replayed ones. */
class RecordingBackend extends LocalBackend {
  readonly written: string[] = [];
  override async putObject(path: string, bytes: Uint8Array): Promise<void> {
    this.written.push(path);
    return super.putObject(path, bytes);
  }
}

function tempStore(name: string): { store: ArtifactStore; backend: RecordingBackend } {
  const backend = new RecordingBackend(mkdtempSync(join(tmpdir(), `polca-resume-${name}-`)));
  return { store: new ArtifactStore(backend), backend };
}

/**
 * A step context on `store`; `persist` writes in call order, as the compute pool does. A write
 * that lands after the step stored its artifact (and removed its scratch directory) may fail;
 * the pool ignores that, here the failures are kept so that the interrupted attempt can show none.
 */
function context(store: ArtifactStore, heartbeat: (p: Progress) => void = () => undefined) {
  const failed: string[] = [];
  let chain: Promise<void> = Promise.resolve();
  const ctx: StepContext = {
    store,
    heartbeat,
    owner: 'resume-test',
    persist(key, name, bytes) {
      const copy = bytes.slice();
      chain = chain
        .then(() => store.putScratch(key, name, copy))
        .catch((e: Error) => {
          failed.push(`${key}/${name}: ${e.message}`);
        });
    },
  };
  return {
    ctx,
    settled: async () => {
      await chain;
      return failed;
    },
  };
}

class Interrupted extends Error {}

/** The inputs every step below needs: data and the first training segment, in `store`. */
async function upstream(store: ArtifactStore, c: Config) {
  const { ctx } = context(store);
  const data = await dataStep(ctx, c);
  const train = await trainStep(ctx, c, 0, { data: data.key });
  return { data: data.key, train: train.key };
}

const c = resolveConfig({ config: { preset: 'tiny', runtime: { backend: 'wasm' } } });

describe('POLCA interval results', () => {
  test('encode/decode is bit-exact, NaN, ±Infinity and -0 in the summaries included', () => {
    const r = (interval: number, variant: 'paper' | 'exact-curvature', special: number[]): PolcaIntervalResult => ({
      rows: {
        interval: Int32Array.from([interval, interval]),
        token: Int32Array.from([0, 1]),
        vector: Int32Array.from([0, 0]),
        first: Float32Array.from([0.1, Number.NaN]),
        second: Float32Array.from([-0, Number.POSITIVE_INFINITY]),
        polca: Float32Array.from([1e-38, -3.5]),
      },
      completeness: {
        interval: Int32Array.from([interval]),
        token: Int32Array.from([7]),
        dloss: Float32Array.from([Number.NEGATIVE_INFINITY]),
        error: Float32Array.from([2 ** -140]),
      },
      summary: {
        interval,
        variant,
        steps: [special[0], 0.1 + 0.2, -0],
        outOfSpan: special[1],
        fallbacks: 3,
        panels: 0,
        maxAbsError: special[2],
        errorQuantiles: [Number.NaN, 1, Number.POSITIVE_INFINITY, Number.MIN_VALUE],
        withinTol: special[3],
      },
    });
    const input: IntervalResults[] = [
      { variant: 'paper', r: r(4, 'paper', [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0]) },
      { variant: 'exact-curvature', r: r(4, 'exact-curvature', [Math.PI, 1e308, Number.MAX_VALUE, 0.5]) },
    ];
    const out = decodeIntervalResults(encodeIntervalResults(input));
    assert.equal(out.length, 2);
    const bits = (x: number) => Buffer.from(Float64Array.of(x).buffer).toString('hex');
    const bytes = (a: Int32Array | Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
    for (let i = 0; i < input.length; i++) {
      const a = input[i];
      const b = out[i];
      assert.equal(b.variant, a.variant);
      for (const k of Object.keys(a.r.rows) as (keyof PolcaIntervalResult['rows'])[]) {
        assert.equal(b.r.rows[k].constructor, a.r.rows[k].constructor, `rows.${k} type`);
        assert.equal(bytes(b.r.rows[k]), bytes(a.r.rows[k]), `rows.${k}`);
      }
      for (const k of Object.keys(a.r.completeness) as (keyof PolcaIntervalResult['completeness'])[]) {
        assert.equal(bytes(b.r.completeness[k]), bytes(a.r.completeness[k]), `completeness.${k}`);
      }
      const flat = (s: PolcaIntervalResult['summary']) =>
        Object.entries(s).map(([k, v]) => [k, Array.isArray(v) ? v.map(bits) : typeof v === 'number' ? bits(v) : v]);
      assert.deepEqual(flat(b.r.summary), flat(a.r.summary), `summary of ${a.variant}`);
    }
  });
});

describe('interrupted steps resume', { concurrency: false }, () => {
  let clean: { store: ArtifactStore; inputs: { data: string; train: string } };
  let basisKey: string;

  before(async () => {
    const { store } = tempStore('clean');
    clean = { store, inputs: await upstream(store, c) };
  });

  test('a basis step interrupted after a few Lanczos products replays them and gives the bytes of an uninterrupted run', async () => {
    const reference = await basisStep(context(clean.store).ctx, c, 0, clean.inputs);
    assert.ok(!reference.cached);
    basisKey = reference.key;
    const { store, backend } = tempStore('basis');
    const inputs = await upstream(store, c);
    assert.deepEqual(inputs, clean.inputs, 'the same upstream keys');
    // First attempt: stopped at the 4th Lanczos product (calls 0..3 are persisted before their heartbeat).
    const first = context(store, (p) => {
      if (p.phase === 'lanczos' && p.done >= 4) throw new Interrupted('stopped after 4 products');
    });
    await assert.rejects(basisStep(first.ctx, c, 0, inputs), Interrupted);
    assert.deepEqual(await first.settled(), [], 'every resume point of the interrupted attempt was written');
    const kept = (await store.backend.list(`scratch/${basisKey}/`)).filter((p) => p.includes('hvp-'));
    assert.equal(kept.length, 4, `products kept: ${kept.join(', ')}`);
    assert.equal(await store.manifest(basisKey), undefined, 'the interrupted attempt stored nothing');
    // Second attempt: replays the kept products, computes the rest.
    backend.written.length = 0;
    const second = context(store);
    const resumed = await basisStep(second.ctx, c, 0, inputs);
    await second.settled();
    assert.equal(resumed.key, basisKey);
    assert.equal((await store.manifest(basisKey))?.meta?.replayedProducts, 4, 'the four kept products were replayed');
    const rewritten = backend.written.filter((p) => p.includes('hvp-')).map((p) => Number(p.match(/hvp-(\d+)/)![1]));
    assert.ok(rewritten.length > 0, 'the rerun computed the products the first attempt did not reach');
    assert.ok(Math.min(...rewritten) >= 4, `the rerun recomputed only new products (wrote ${rewritten.join(', ')})`);
    const a = await storeDigest(clean.store);
    const b = await storeDigest(store);
    assert.equal(b.get(basisKey), a.get(basisKey), 'the same basis bytes as an uninterrupted run');
  });

  test('a basis step whose kept products do not match its input vectors recomputes them and still gives the same bytes', async () => {
    const { store } = tempStore('basis-stale');
    const inputs = await upstream(store, c);
    const first = context(store, (p) => {
      if (p.phase === 'lanczos' && p.done >= 3) throw new Interrupted('stopped after 3 products');
    });
    await assert.rejects(basisStep(first.ctx, c, 0, inputs), Interrupted);
    await first.settled();
    // Corrupt the input digest of the second product: replay must stop there and recompute.
    const path = `scratch/${basisKey}/hvp-000001.bin`;
    const raw = (await store.backend.getObject(path))!;
    raw[0] ^= 0xff;
    await store.backend.putObject(path, raw);
    const second = context(store);
    await basisStep(second.ctx, c, 0, inputs);
    await second.settled();
    // Call 1 is recomputed; it gives the same product, so call 2's input matches again and replays.
    assert.equal((await store.manifest(basisKey))?.meta?.replayedProducts, 2, 'products 0 and 2 replayed, 1 recomputed');
    assert.equal((await storeDigest(store)).get(basisKey), (await storeDigest(clean.store)).get(basisKey));
  });

  test('a POLCA step interrupted after its first interval computes only the missing intervals and gives the same bytes', async () => {
    const ref = await polcaStep(context(clean.store).ctx, c, 0, { ...clean.inputs, basis: basisKey });
    const { store, backend } = tempStore('polca');
    const inputs = await upstream(store, c);
    await basisStep(context(store).ctx, c, 0, inputs);
    const first = context(store, (p) => {
      if (p.phase === 'polca' && p.done >= 1) throw new Interrupted('stopped after the first interval');
    });
    await assert.rejects(polcaStep(first.ctx, c, 0, { ...inputs, basis: basisKey }), Interrupted);
    const kept = await store.backend.list(`scratch/${ref.key}/`);
    assert.equal(kept.length, 1, `one interval kept: ${kept.join(', ')}`);
    assert.match(kept[0], /interval-00000000\.safetensors$/);
    backend.written.length = 0;
    const intervals: number[] = [];
    const resumed = await polcaStep(
      context(store, (p) => {
        if (p.phase === 'polca') intervals.push(p.interval as number);
      }).ctx,
      c,
      0,
      { ...inputs, basis: basisKey },
    );
    assert.equal(resumed.key, ref.key);
    assert.deepEqual(intervals, [0, 1, 2, 3], 'every interval is reported');
    const computed = backend.written.filter((p) => p.includes('/interval-')).map((p) => Number(p.match(/interval-(\d+)/)![1]));
    assert.deepEqual(computed, [1, 2, 3], 'only the missing intervals were computed');
    assert.equal((await storeDigest(store)).get(ref.key), (await storeDigest(clean.store)).get(ref.key), 'the same POLCA bytes');
    assert.deepEqual(await store.backend.list(`scratch/${ref.key}/`), []);
  });
});

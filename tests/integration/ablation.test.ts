/**
 * An ablation through `polca run` on a real Temporal dev server (`tiny`): after the unablated run,
 * the same config with `ablate` set finds every step of that run in the store (the training chain
 * before `ablate.from` and everything else it reads) and computes only the ablated segments (from
 * the one holding `from` on, for the basis arm and its random control), their reading and the
 * report. The ablated segments evaluate only the checkpoints after `from`, stay on their plane
 * (drift within one float32 rounding), the report and the sweep's metrics show the reading (an
 * English run's too, per part-of-speech tag), and with no direction removed the segments give the
 * unablated run's bytes.
 */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ArtifactStore, decodeParquet, decodeSafetensors, LocalBackend } from '../../artifacts/index.ts';
import { polcaJson, type RunJson, type Sandbox, sandbox } from '../../bench/experiment.ts';
import { runMetrics } from '../../report/build.ts';
import { getTestServices } from '../helpers/services.ts';

const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const base = ['run', '--preset', 'tiny', '--set', 'runtime.heartbeatSeconds=30'];
const ABLATED = ['ablate/basis/1', 'ablate/basis/2', 'ablate/random/1', 'ablate/random/2', 'ablate/reading'];

describe('an ablation continues the training chain from its checkpoint', { concurrency: false }, () => {
  let sb: Sandbox;
  let store: ArtifactStore;
  let control: RunJson;
  let ablated: RunJson;
  const step = (r: RunJson, name: string) => {
    const s = r.steps.find((x) => x.name === name);
    assert.ok(s, `step ${name} in ${r.workflowId}`);
    return s;
  };

  before(async () => {
    const services = await getTestServices();
    sb = sandbox(services.temporalAddress, 'ablation');
    store = new ArtifactStore(new LocalBackend(sb.storeDir));
    control = await polcaJson<RunJson>([...base, '--id', `ablation-control-${Date.now()}`], sb.env);
    ablated = await polcaJson<RunJson>(
      [...base, '--set', 'ablate.vectors=[0]', '--set', 'ablate.from=60', '--id', `ablation-${Date.now()}`],
      sb.env,
    );
  });

  test('every step of the unablated run is a cache hit; only the ablated segments after `from`, their reading and the report are computed', () => {
    const computed = ablated.steps.filter((s) => !s.cached).map((s) => s.name);
    assert.deepEqual(computed.sort(), [...ABLATED, 'report'].sort());
    for (const s of control.steps) {
      if (s.name === 'report') continue;
      const again = step(ablated, s.name);
      assert.equal(again.key, s.key, s.name);
      assert.ok(again.cached, `${s.name} is a cache hit`);
    }
    // train/0 (iterations 1–40) and train/1 (41–80, holding from = 60) come before the ablation's start
    assert.ok(step(ablated, 'train/0').cached && step(ablated, 'train/1').cached);
    assert.equal(ablated.steps.filter((s) => s.name.startsWith('ablate/basis/0')).length, 0, 'no segment before `from` is trained again');
  });

  test('the ablated segments evaluate the checkpoints after `from`, and stay on their plane', async () => {
    for (const name of ['ablate/basis/1', 'ablate/random/1']) {
      const t = await decodeParquet(await store.get(step(ablated, name).key, 'eval.parquet'), ['iteration']);
      assert.deepEqual([...new Set(t.iteration as Int32Array)], [70, 80], name);
      const d = await decodeParquet(await store.get(step(ablated, name).key, 'drift.parquet'), ['offset', 'rounding_bound']);
      const off = d.offset as Float64Array;
      const bound = d.rounding_bound as Float64Array;
      assert.equal(off.length, 2, `${name}: one direction at 2 checkpoints`);
      for (let i = 0; i < off.length; i++)
        assert.ok(Math.abs(off[i]) <= bound[i] * (1 + 1e-6), `${name}: offset ${off[i]} against ${bound[i]}`);
    }
    const m = ablated.metrics.ablation as {
      from: number;
      vectors: number[];
      questions: unknown[];
      deltaAll: Record<string, number>;
      final: Record<string, { driftRatio: number }>;
    };
    assert.equal(m.from, 60);
    assert.deepEqual(m.vectors, [0]);
    assert.deepEqual(Object.keys(m.deltaAll).sort(), ['basis', 'random']);
    assert.ok(m.final.basis.driftRatio <= 1 && m.final.random.driftRatio <= 1);
    const q = await decodeParquet(await store.get(step(ablated, 'ablate/reading').key, 'clusters.parquet'), ['vector']);
    assert.equal((q.vector as Int32Array).length, m.questions.length);
  });

  test('the report shows the ablation (its table and a figure per ablated vector) and the sweep metrics carry it', async () => {
    const html = Buffer.from(await store.get(step(ablated, 'report').key, 'index.html')).toString('utf8');
    assert.match(html, /Does a direction matter\?/);
    assert.match(html, /hurt more than random/);
    await store.get(step(ablated, 'report').key, 'figures/ablation-b0.svg');
    const record = await store.getRun(ablated.workflowId);
    assert.ok(record);
    const metrics = await runMetrics(store, record);
    assert.equal(metrics['ablation.from'], 60);
    assert.ok(Number.isFinite(metrics['ablation.delta.basis']) && Number.isFinite(metrics['ablation.delta.random']));
    assert.equal(metrics['ablation.clusters'], (ablated.metrics.ablation as { clusters: number }).clusters);
  });

  test('random directions alone from a segment boundary, and basis vectors from the initialisation', async () => {
    const random = await polcaJson<RunJson>(
      [...base, '--set', 'ablate.random=2', '--set', 'ablate.from=80', '--id', `ablation-random-${Date.now()}`],
      sb.env,
    );
    assert.deepEqual(
      random.steps
        .filter((s) => !s.cached)
        .map((s) => s.name)
        .sort(),
      ['ablate/random/2', 'ablate/reading', 'report'],
    );
    const t = await decodeParquet(await store.get(step(random, 'ablate/random/2').key, 'eval.parquet'), ['iteration']);
    assert.deepEqual([...new Set(t.iteration as Int32Array)], [90, 100, 110, 120]);
    const m = random.metrics.ablation as {
      clusters: number;
      deltaAll: Record<string, number>;
      final: Record<string, { driftRatio: number }>;
    };
    assert.equal(m.clusters, 0);
    assert.deepEqual(Object.keys(m.deltaAll), ['random']);
    assert.ok(m.final.random.driftRatio <= 1);
    const fromStart = await polcaJson<RunJson>(
      [...base, '--set', 'ablate.vectors=[1,2]', '--set', 'ablate.from=0', '--id', `ablation-start-${Date.now()}`],
      sb.env,
    );
    assert.deepEqual(
      fromStart.steps
        .filter((s) => s.name.startsWith('ablate/'))
        .map((s) => s.name)
        .sort(),
      ['ablate/basis/0', 'ablate/basis/1', 'ablate/basis/2', 'ablate/random/0', 'ablate/random/1', 'ablate/random/2', 'ablate/reading'],
    );
    const d = await decodeParquet(await store.get(step(fromStart, 'ablate/basis/2').key, 'drift.parquet'), [
      'direction',
      'offset',
      'rounding_bound',
    ]);
    assert.deepEqual([...new Set(d.direction as Int32Array)], [0, 1]);
    const off = d.offset as Float64Array;
    const bound = d.rounding_bound as Float64Array;
    for (let i = 0; i < off.length; i++) assert.ok(Math.abs(off[i]) <= bound[i] * (1 + 1e-6), `offset ${off[i]} against ${bound[i]}`);
    assert.equal((fromStart.metrics.ablation as { vectors: number[] }).vectors.length, 2);
  });

  test('English: the reading per part-of-speech tag and cluster, in its report and metrics', async () => {
    const english = await polcaJson<RunJson>(
      [
        'run',
        '--preset',
        'english-tiny',
        '--set',
        'runtime.heartbeatSeconds=30',
        '--set',
        'ablate.vectors=[0]',
        '--set',
        'ablate.from=40',
        '--id',
        `ablation-english-${Date.now()}`,
      ],
      sb.env,
    );
    const g = await decodeParquet(await store.get(step(english, 'ablate/reading').key, 'groups.parquet'), ['arm', 'kind', 'skill']);
    const skills = new Set((g.skill as string[]).filter((_, i) => (g.kind as string[])[i] === 'skill'));
    for (const s of ['pos', 'pos_1', 'freq_band', 'position']) assert.ok(skills.has(s), `groups by ${s}`);
    assert.deepEqual([...new Set(g.arm as string[])].sort(), ['basis', 'random']);
    const html = Buffer.from(await store.get(step(english, 'report').key, 'index.html')).toString('utf8');
    assert.match(html, /Does a direction matter\?/);
    const record = await store.getRun(english.workflowId);
    assert.ok(record);
    assert.equal((await runMetrics(store, record))['ablation.from'], 40);
  });

  test('with no direction removed the ablated segments give the unablated run’s bytes', async () => {
    const empty = await polcaJson<RunJson>(
      [...base, '--set', 'ablate.vectors=[]', '--set', 'ablate.from=60', '--id', `ablation-empty-${Date.now()}`],
      sb.env,
    );
    const rows = async (key: string) => {
      const t = await decodeParquet(await store.get(key, 'eval.parquet'), ['iteration', 'token', 'loss']);
      const it = t.iteration as Int32Array;
      const loss = t.loss as Float32Array;
      return [...it.keys()].filter((r) => it[r] > 60).map((r) => `${it[r]}:${(t.token as Int32Array)[r]}:${loss[r]}`);
    };
    for (const s of [1, 2]) {
      assert.deepEqual(await rows(step(empty, `ablate/basis/${s}`).key), await rows(step(empty, `train/${s}`).key), `segment ${s}`);
      const a = decodeSafetensors(await store.get(step(empty, `ablate/basis/${s}`).key, 'state.safetensors')).tensors;
      const b = decodeSafetensors(await store.get(step(empty, `train/${s}`).key, 'state.safetensors')).tensors;
      for (const t of ['params', 'adam_m', 'adam_v']) assert.ok(bytes(a[t].data).equals(bytes(b[t].data)), `segment ${s}: ${t}`);
    }
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError, configJsonSchema, resolveConfig } from '../../config/index.ts';

function rejects(opts: Parameters<typeof resolveConfig>[0], ...fragments: string[]) {
  assert.throws(
    () => resolveConfig(opts),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      for (const f of fragments) assert.ok(e.message.includes(f), `${JSON.stringify(e.message)} should mention ${f}`);
      return true;
    },
  );
}

test('presets resolve and validate', () => {
  for (const p of ['tiny', 'small', 'paper']) assert.equal(resolveConfig({ preset: p }).preset, p);
  const paper = resolveConfig({ preset: 'paper' });
  assert.deepEqual(paper.model, { nLayers: 2, dModel: 512, nHeads: 4, dMlp: 2048 });
  assert.equal(paper.data.evalSize, 1250);
  assert.equal(paper.train.checkpointEvery, 5);
  assert.equal(paper.basis.every, 100);
});

test('bad configuration names the field, the value and the allowed values', () => {
  rejects({ preset: 'tiny', config: { model: { nHeads: 3 } } }, 'model.nHeads', 'divide');
  rejects({ preset: 'tiny', sets: ['train.batchSize=-4'] }, 'train.batchSize', '-4', '> 0');
  rejects({ preset: 'tiny', sets: ['polca.variant="second"'] }, 'polca.variant', 'paper', 'exact-curvature', 'path');
  rejects({ preset: 'tiny', sets: ['runtime.backend="tpu"'] }, 'runtime.backend', 'wasm', 'cpu');
  rejects({ preset: 'tiny', config: { data: { evalSize: 400_000, hessianSize: 200_000 } } }, 'data.evalSize');
  rejects({ preset: 'huge' }, 'preset', 'tiny, small, paper');
  rejects({ preset: 'tiny', sets: ['model.depth=3'] }, 'model.depth', 'no such config field');
  rejects({ config: { data: { extra: 1 } } }, 'data', 'extra');
});

test('overrides merge over presets and the JSON Schema describes the config', () => {
  const c = resolveConfig({ preset: 'tiny', sets: ['cluster.minClusterSize=7', 'seed=5'] });
  assert.equal(c.cluster.minClusterSize, 7);
  assert.equal(c.seed, 5);
  assert.equal(c.model.dModel, 32);
  const schema = configJsonSchema() as { properties: Record<string, unknown> };
  assert.ok(schema.properties.polca && schema.properties.model);
});

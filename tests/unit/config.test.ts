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
  rejects({ preset: 'huge' }, 'preset', 'tiny, small, medium, paper, iclr');
  rejects({ preset: 'tiny', sets: ['model.depth=3'] }, 'model.depth', 'no such config field');
  rejects({ config: { data: { extra: 1 } } }, 'data', 'extra');
});

test('fields that tuned finite differences are refused with the reason: derivatives are now exact', () => {
  rejects({ preset: 'tiny', config: { polca: { h: 3e-3 } } }, 'polca.h was removed', 'exact', 'delete the field');
  rejects({ preset: 'small', config: { polca: { stencil: 5, variant: 'path' } } }, 'polca.stencil was removed', 'exact');
  rejects({ preset: 'tiny', config: { basis: { hvpEps: 1e-3 } } }, 'basis.hvpEps was removed', 'Hessian-vector products are now exact');
  rejects({ preset: 'tiny', sets: ['polca.h=0.01'] }, '--set polca.h', 'polca.h was removed');
  rejects({ sets: ['basis.hvpEps=1e-3'] }, 'basis.hvpEps was removed');
  // every removed field at once is named
  rejects({ config: { polca: { h: 1e-3, stencil: 3 }, basis: { hvpEps: 1e-3 } } }, 'polca.h', 'polca.stencil', 'basis.hvpEps');
  const c = resolveConfig({ preset: 'small' });
  assert.ok(!('h' in c.polca) && !('stencil' in c.polca) && !('hvpEps' in c.basis));
});

test('negative and zero sizes, non-integers and impossible splits are rejected with the field and the allowed range', () => {
  rejects({ preset: 'tiny', config: { data: { evalSize: -5 } } }, 'data.evalSize', '-5', '> 0');
  rejects({ preset: 'tiny', sets: ['data.hessianSize=0'] }, 'data.hessianSize', '> 0');
  rejects({ preset: 'tiny', sets: ['model.dModel=0'] }, 'model.dModel', '> 0');
  rejects({ preset: 'tiny', sets: ['model.nLayers=-1'] }, 'model.nLayers', '-1', '> 0');
  rejects({ preset: 'tiny', sets: ['model.dMlp=-64'] }, 'model.dMlp', '> 0');
  rejects({ preset: 'tiny', sets: ['train.iterations=-10'] }, 'train.iterations', '> 0');
  rejects({ preset: 'tiny', sets: ['train.batchSize=1.5'] }, 'train.batchSize', 'int');
  rejects({ preset: 'tiny', sets: ['train.lr=abc'] }, 'train.lr', 'number');
  // heads must divide dModel: the message names the field and what is allowed
  rejects({ preset: 'small', sets: ['model.nHeads=3'] }, 'model.nHeads', 'dModel=64', 'a divisor of 64');
  // an evaluation set beyond what the 10^6 operand pairs allow (the schema caps it at 100 000)
  rejects({ preset: 'tiny', sets: ['data.evalSize=2000000'] }, 'data.evalSize', '≤ 100000');
  // unknown backend, in a config file as well as in --set
  rejects({ preset: 'tiny', config: { runtime: { backend: 'gpu' } } }, 'runtime.backend', '"auto", "tensorflow", "wasm", "cpu"');
  // unknown preset, also when it comes from the config file
  rejects({ config: { preset: 'large' } }, 'preset', 'tiny, small, medium, paper, iclr');
  // --set of an unknown path, at any depth
  rejects({ preset: 'tiny', sets: ['polca.order=2'] }, 'polca.order', 'no such config field');
  rejects({ preset: 'tiny', sets: ['optimizer.lr=1'] }, 'optimizer.lr', 'no such config field');
  rejects({ preset: 'tiny', sets: ['train'] }, '--set expects path=value');
  // basis checkpoints must fall on training checkpoints
  rejects({ preset: 'tiny', sets: ['basis.every=7'] }, 'basis.every', 'multiple of train.checkpointEvery');
  // and every valid edge value passes
  const ok = resolveConfig({ preset: 'tiny', sets: ['data.evalSize=100000', 'data.hessianSize=1', 'model.nHeads=32', 'train.warmup=0'] });
  assert.equal(ok.model.nHeads, 32);
});

test('an unknown POLCA_BACKEND is rejected with the allowed values before any backend starts', async () => {
  const { initBackend } = await import('../../core/model/backend.ts');
  const saved = process.env.POLCA_BACKEND;
  process.env.POLCA_BACKEND = 'gpu';
  try {
    await assert.rejects(initBackend(), /POLCA_BACKEND: unknown backend "gpu"; allowed: auto, tensorflow, wasm, cpu/);
  } finally {
    if (saved === undefined) delete process.env.POLCA_BACKEND;
    else process.env.POLCA_BACKEND = saved;
  }
});

test('overrides merge over presets and the JSON Schema describes the config', () => {
  const c = resolveConfig({ preset: 'tiny', sets: ['cluster.minClusterSize=7', 'seed=5'] });
  assert.equal(c.cluster.minClusterSize, 7);
  assert.equal(c.seed, 5);
  assert.equal(c.model.dModel, 32);
  const schema = configJsonSchema() as { properties: Record<string, unknown> };
  assert.ok(schema.properties.polca && schema.properties.model);
});

test('`--set` of a name every object inherits (toString, valueOf, hasOwnProperty) is no field: the error lists the allowed ones', () => {
  for (const name of ['toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', 'toLocaleString']) {
    rejects({ preset: 'tiny', sets: [`${name}=1`] }, `--set ${name}`, 'no such config field', 'allowed sections and fields', 'model, ');
    rejects({ preset: 'tiny', sets: [`train.${name}=1`] }, `--set train.${name}`, 'no such config field', 'allowed fields of train', 'lr');
    assert.throws(
      () => resolveConfig({ preset: 'tiny', sets: [`${name}=1`] }),
      (e: unknown) => !/native code|function /.test((e as Error).message),
      `${name}: no function text in the message`,
    );
  }
  rejects({ preset: 'tiny', sets: ['model.depth=3'] }, 'allowed fields of model', 'dModel', 'nLayers');
  rejects({ preset: 'tiny', sets: ['train.denseCheckpoints.x=3'] }, 'allowed fields of train', 'denseCheckpoints');
});

test('`--config` given a directory, a missing file or something that is not a file: the option, the path and what is allowed', async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readConfigFile } = await import('../../cli/common.ts');
  const dir = mkdtempSync(join(tmpdir(), 'polca-config-file-'));
  try {
    const fails = (f: () => unknown, ...fragments: string[]) =>
      assert.throws(f, (e: unknown) => {
        assert.ok(e instanceof ConfigError, String(e));
        for (const x of fragments) assert.ok(e.message.includes(x), `${JSON.stringify(e.message)} should mention ${x}`);
        assert.ok(!/EISDIR|ENOENT/.test(e.message.split(';')[0]), `no bare error code: ${e.message}`);
        return true;
      });
    fails(() => readConfigFile(dir), `--config ${dir}`, 'is a directory', 'allowed: a readable JSON file');
    fails(() => readConfigFile(join(dir, 'none.json')), '--config', 'no such file', 'allowed: a readable JSON file');
    fails(() => readConfigFile(join(dir, 'none.json', 'x')), '--config', 'no such file');
    fails(() => readConfigFile('/dev/null'), '--config /dev/null', 'not a regular file');
    fails(() => readConfigFile(dir, '--grid'), `--grid ${dir}`, 'is a directory');
    writeFileSync(join(dir, 'bad.json'), '{"train": ');
    fails(() => readConfigFile(join(dir, 'bad.json')), '--config', 'not valid JSON');
    writeFileSync(join(dir, 'ok.json'), '{"train": {"lr": 0.002}}');
    assert.deepEqual(readConfigFile(join(dir, 'ok.json')), { train: { lr: 0.002 } });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the iclr preset is the full paper’s published arithmetic setting, and medium the published optimiser on small’s model', () => {
  const c = resolveConfig({ preset: 'iclr' });
  assert.deepEqual(c.model, { nLayers: 3, dModel: 512, nHeads: 4, dMlp: 2048 });
  assert.equal(c.train.iterations, 10_000);
  assert.equal(c.train.batchSize, 64);
  assert.equal(c.train.lr, 1e-5);
  assert.equal(c.train.weightDecay, 0.1);
  assert.deepEqual([c.train.beta1, c.train.beta2], [0.9, 0.95]);
  assert.deepEqual([c.train.warmup, c.train.schedule], [100, 'constant']);
  assert.deepEqual([c.basis.every, c.basis.k, c.train.iterations / c.basis.every], [200, 1, 50]);
  assert.deepEqual([c.data.evalSize, c.data.hessianSize], [1250, 1250]);
  // HDBSCAN 150 of the 5000 tokens, min_samples tokens / 15
  assert.equal(Math.round(c.protocol.minClusterShare * c.data.evalSize * 4), 150);
  assert.equal(c.protocol.minSamplesDivisor, 15);
  assert.deepEqual(c.protocol.families, ['loss', 'dloss', 'fisher', 'lca', 'polca-first', 'polca']);
  const m = resolveConfig({ preset: 'medium' });
  assert.deepEqual(m.model, resolveConfig({ preset: 'small' }).model);
  assert.deepEqual([m.train.weightDecay, m.train.beta2, m.train.schedule, m.train.batchSize], [0.1, 0.95, 'constant', 64]);
});

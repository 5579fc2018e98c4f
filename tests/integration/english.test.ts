/**
 * English language modelling end to end through `polca run`, against a real Temporal dev server:
 * `english-tiny` on the built-in corpus computes every stage, prints the part-of-speech reading,
 * stores tokens.parquet with the tag columns (readable as a table), writes a report with the
 * per-cluster contexts; a rerun is all cache hits; kill -9 of the worker during training gives
 * the same keys and bytes; a bad corpus fails before any workflow starts, naming the field.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ArtifactStore, decodeParquet, LocalBackend } from '../../artifacts/index.ts';
import {
  killHard,
  polca,
  polcaJson,
  type Proc,
  type RunJson,
  type Sandbox,
  sandbox,
  start,
  storeDigest,
  waitUntil,
} from '../../bench/experiment.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';

const FAST = ['--preset', 'english-tiny', '--set', 'runtime.heartbeatSeconds=4'];
const localStore = (sb: Sandbox) => new ArtifactStore(new LocalBackend(sb.storeDir));
// The native backend: the English model's unembedding (V = 500) is ~20x slower on wasm here.
const NATIVE = { POLCA_BACKEND: 'tensorflow' };

let services: TestServices;
const procs: Proc[] = [];
before(async () => {
  services = await getTestServices();
});
after(async () => {
  for (const w of procs) if (w.child.exitCode === null) await killHard(w);
});

describe('the english task through `polca run`', { concurrency: false }, () => {
  let sb: Sandbox;
  let run: RunJson & { metrics?: Record<string, unknown> };
  let digest: Map<string, string>;

  test('english-tiny end to end: every stage, the POS reading, tags in tokens.parquet, the report', async () => {
    sb = sandbox(services.temporalAddress, 'english', NATIVE);
    run = await polcaJson(['run', ...FAST, '--id', `english-${Date.now()}`], sb.env);
    const names = run.steps.map((s) => s.name);
    for (const n of [
      'data',
      'train/2',
      'basis/2',
      'polca/2',
      'capture',
      'protocol/loss',
      'protocol/polca/0',
      'tags/protocol/loss',
      'tags/protocol/polca/2',
      'tags/cluster/loss',
      'tags/cluster/polca/2',
      'report',
    ])
      assert.ok(names.includes(n), `step ${n} in ${names.join(', ')}`);
    const tags = run.metrics?.tags as { family: string; kept: number; members: number }[];
    assert.deepEqual(tags.map((f) => f.family).sort(), ['cluster:loss', 'cluster:polca', 'loss', 'polca']);
    assert.equal(tags.find((f) => f.family === 'polca')?.members, 3);
    const store = localStore(sb);
    const data = run.steps.find((s) => s.name === 'data')!.key;
    const tok = await decodeParquet(await store.get(data, 'tokens.parquet'));
    for (const c of ['token', 'example', 'target', 'word', 'pos', 'pos_1', 'pos_2', 'pos_3', 'freq_band', 'position', 'context'])
      assert.ok(c in tok, `tokens.parquet column ${c}`);
    assert.equal(tok.token.length, 16 * 16);
    const html = readFileSync(run.report, 'utf8');
    assert.match(html, /Clusters read against part-of-speech tags/);
    assert.match(html, /⟦/, 'contexts of the tokens nearest the medoids, as text');
    assert.match(html, /When each part of speech is learned/);
    digest = await storeDigest(store);
    const again = await polcaJson<RunJson>(['run', ...FAST, '--id', `english-again-${Date.now()}`], sb.env);
    assert.ok(
      again.steps.every((s) => s.cached),
      'a rerun is all cache hits',
    );
  });

  test('kill -9 of the worker during training: a new worker finishes with the same keys and bytes', async () => {
    const sb2 = sandbox(services.temporalAddress, 'english-crash', NATIVE);
    const scratch = join(sb2.storeDir, 'scratch');
    const hasPartial = () => existsSync(scratch) && readdirSync(scratch).some((k) => existsSync(join(scratch, k, 'partial.safetensors')));
    const w1 = start(['worker'], sb2.env);
    procs.push(w1);
    const r = start(['run', ...FAST, '--workers', '0', '--json', '--id', `english-crash-${Date.now()}`], sb2.env);
    procs.push(r);
    await waitUntil('a training checkpoint in scratch', hasPartial, 180_000, 5);
    await killHard(w1);
    procs.push(start(['worker'], sb2.env));
    assert.equal(await r.exited, 0, r.stderr());
    const result = JSON.parse(r.stdout().trim().split('\n').pop()!) as RunJson;
    assert.deepEqual(
      result.steps.map((s) => [s.name, s.key]),
      run.steps.map((s) => [s.name, s.key]),
    );
    const d2 = await storeDigest(localStore(sb2));
    for (const [key, files] of d2) assert.equal(files, digest.get(key), `artifact ${key} has the same bytes`);
  });

  test('a bad or empty corpus fails before any workflow starts, naming task.corpus', async () => {
    const sb3 = sandbox(services.temporalAddress, 'english-bad', NATIVE);
    const missing = await polca(['run', ...FAST, '--set', `task.corpus="${join(sb3.home, 'nope.txt')}"`], sb3.env);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /task\.corpus: no file at/);
    assert.doesNotMatch(missing.stderr, /workflow polca-/);
    const empty = join(sb3.home, 'empty.txt');
    writeFileSync(empty, '\n\n');
    const e = await polca(['run', ...FAST, '--set', `task.corpus="${empty}"`], sb3.env);
    assert.notEqual(e.code, 0);
    assert.match(e.stderr, /task\.corpus: .* holds no text/);
  });
});

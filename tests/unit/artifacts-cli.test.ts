/**
 * `polca artifacts ls|download` on a local store: the command functions directly, and the real
 * command spawned through bin/polca.mjs.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { ArtifactStore, IntegrityError, LocalBackend, type Manifest, NotFoundError } from '../../artifacts/index.ts';
import { downloadArtifacts, formatBytes, formatListing, listArtifacts, type RunListing, type StoreListing } from '../../cli/artifacts.ts';

const root = new URL('../..', import.meta.url).pathname;
const sha = (d: Uint8Array) => createHash('sha256').update(d).digest('hex');
const bytes = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed * 7 + ((i >> 8) ^ seed)) & 255);
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'polca-cli-artifacts-'));
  dirs.push(d);
  return d;
};

/** A store with two runs sharing the data step, and one artifact no run names. */
async function fixture() {
  const dir = tmp();
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
  const files = {
    data: { 'examples.parquet': bytes(1500, 1), 'tokens.parquet': bytes(700, 2) },
    t2: { 'state.safetensors': bytes(4096, 3), 'train_loss.parquet': bytes(300, 4) },
    t10: { 'state.safetensors': bytes(4096, 5), 'train_loss.parquet': bytes(310, 6) },
    report: { 'index.html': Buffer.from('<html></html>'), 'figures/loss.svg': Buffer.from('<svg/>') },
    lone: { 'x.bin': bytes(10, 7) },
  };
  const data = await store.put({ step: 'data', version: '1', params: { seed: 1 }, inputs: {} }, files.data);
  const t2 = await store.put({ step: 'train', version: '1', params: { segment: 2 }, inputs: { data: data.key } }, files.t2);
  const t10 = await store.put({ step: 'train', version: '1', params: { segment: 10 }, inputs: { data: data.key } }, files.t10);
  const report = await store.put({ step: 'report', version: '1', params: {}, inputs: { t: t10.key } }, files.report);
  const lone = await store.put({ step: 'lone', version: '1', params: {}, inputs: {} }, files.lone);
  const createdAt = '2026-11-25T08:00:00.000Z';
  await store.putRun('exp-a', {
    name: 'exp-a',
    steps: { data: data.key, 'train/10': t10.key, 'train/2': t2.key, report: report.key },
    createdAt,
    workflowId: 'wf-a',
  });
  await store.putRun('exp-b', { name: 'exp-b', steps: { data: data.key }, createdAt });
  return { dir, store, files, keys: { data: data.key, t2: t2.key, t10: t10.key, report: report.key, lone: lone.key } };
}

const size = (fs: Record<string, Uint8Array>) => Object.values(fs).reduce((a, d) => a + d.byteLength, 0);

describe('artifacts ls', () => {
  test('without a run: the runs, and every artifact with step, key, size, created', async () => {
    const { store, files, keys } = await fixture();
    const l = (await listArtifacts(store)) as StoreListing;
    assert.equal(l.store, store.location);
    assert.deepEqual(l.runs, [
      { name: 'exp-a', steps: 4, createdAt: '2026-11-25T08:00:00.000Z' },
      { name: 'exp-b', steps: 1, createdAt: '2026-11-25T08:00:00.000Z' },
    ]);
    const byKey = Object.fromEntries(l.artifacts.map((a) => [a.key, a]));
    assert.equal(l.artifacts.length, 5);
    assert.deepEqual(
      [byKey[keys.data].size, byKey[keys.t2].size, byKey[keys.t10].size, byKey[keys.report].size, byKey[keys.lone].size],
      [size(files.data), size(files.t2), size(files.t10), size(files.report), size(files.lone)],
    );
    assert.equal(byKey[keys.t2].step, 'train');
    assert.equal(byKey[keys.report].files, 2);
    for (const a of l.artifacts) assert.equal(a.createdAt, (await store.manifest(a.key))!.createdAt);
    const text = formatListing(l);
    for (const k of Object.values(keys)) assert.ok(text.includes(k), k);
    assert.match(text, /runs \(2\):/);
    assert.match(text, /artifacts \(5, /);
    assert.ok(text.includes(formatBytes(size(files.data))));
  });

  test('with a run: its steps in order (train/2 before train/10) with keys and sizes; a missing artifact is shown', async () => {
    const { store, files, keys } = await fixture();
    const l = (await listArtifacts(store, 'exp-a')) as RunListing;
    assert.equal(l.run, 'exp-a');
    assert.equal(l.workflowId, 'wf-a');
    assert.deepEqual(
      l.steps.map((s) => [s.step, s.key, s.size]),
      [
        ['data', keys.data, size(files.data)],
        ['report', keys.report, size(files.report)],
        ['train/2', keys.t2, size(files.t2)],
        ['train/10', keys.t10, size(files.t10)],
      ],
    );
    await store.delete(keys.report);
    const after = (await listArtifacts(store, 'exp-a')) as RunListing;
    assert.deepEqual(after.steps[1], { step: 'report', key: keys.report, present: false });
    assert.match(formatListing(after), /report\s+report-[0-9a-f]{40}\s+missing/);
    await assert.rejects(
      listArtifacts(store, 'exp-z'),
      (e: unknown) => e instanceof NotFoundError && /no run "exp-z".*runs: exp-a, exp-b/.test((e as Error).message),
    );
  });

  test('sizes print in binary units', () => {
    assert.deepEqual(
      [formatBytes(0), formatBytes(1023), formatBytes(1024), formatBytes(1536), formatBytes(100 * 1048576)],
      ['0 B', '1023 B', '1.0 KiB', '1.5 KiB', '100 MiB'],
    );
  });
});

describe('artifacts download', () => {
  test('a run: every step into DIR/<step>/..., byte-identical, with its manifest', async () => {
    const { dir, store, files, keys } = await fixture();
    const out = join(dir, 'out');
    const r = await downloadArtifacts(store, 'exp-a', { out });
    assert.equal(r.kind, 'run');
    assert.equal(r.files, 8);
    assert.equal(r.bytes, size(files.data) + size(files.t2) + size(files.t10) + size(files.report));
    const expect: [string, Record<string, Uint8Array>, string][] = [
      ['data', files.data, keys.data],
      ['train/2', files.t2, keys.t2],
      ['train/10', files.t10, keys.t10],
      ['report', files.report, keys.report],
    ];
    for (const [step, fs, key] of expect) {
      for (const [name, d] of Object.entries(fs)) assert.equal(sha(readFileSync(join(out, step, name))), sha(d), `${step}/${name}`);
      const m = JSON.parse(readFileSync(join(out, step, 'manifest.json'), 'utf8')) as Manifest;
      assert.equal(m.key, key);
      assert.deepEqual(m, await store.manifest(key));
    }
    // nothing else: no temporary files left behind
    const all = readdirSync(out, { recursive: true }).map(String).sort();
    assert.deepEqual(all, [
      'data',
      'data/examples.parquet',
      'data/manifest.json',
      'data/tokens.parquet',
      'report',
      'report/figures',
      'report/figures/loss.svg',
      'report/index.html',
      'report/manifest.json',
      'train',
      'train/10',
      'train/10/manifest.json',
      'train/10/state.safetensors',
      'train/10/train_loss.parquet',
      'train/2',
      'train/2/manifest.json',
      'train/2/state.safetensors',
      'train/2/train_loss.parquet',
    ]);
  });

  test('a key: into DIR/<key>/...', async () => {
    const { dir, store, files, keys } = await fixture();
    const out = join(dir, 'out');
    const r = await downloadArtifacts(store, keys.lone, { out, progress: true, progressMinBytes: 0 });
    assert.equal(r.kind, 'key');
    assert.deepEqual(new Uint8Array(readFileSync(join(out, keys.lone, 'x.bin'))), files.lone['x.bin']);
    await assert.rejects(downloadArtifacts(store, 'nothing-here', { out }), /no run or artifact "nothing-here"/);
  });

  test('refuses to overwrite existing files unless forced, and then writes nothing', async () => {
    const { dir, store, files } = await fixture();
    const out = join(dir, 'out');
    await downloadArtifacts(store, 'exp-b', { out });
    const target = join(out, 'data', 'tokens.parquet');
    writeFileSync(target, 'edited');
    rmSync(join(out, 'data', 'examples.parquet'));
    await assert.rejects(downloadArtifacts(store, 'exp-b', { out }), /2 file\(s\) already exist .*tokens\.parquet.*--force/);
    assert.equal(readFileSync(target, 'utf8'), 'edited');
    assert.equal(existsSync(join(out, 'data', 'examples.parquet')), false, 'nothing written when refusing');
    await downloadArtifacts(store, 'exp-b', { out, force: true });
    assert.equal(sha(readFileSync(target)), sha(files.data['tokens.parquet']));
    assert.equal(sha(readFileSync(join(out, 'data', 'examples.parquet'))), sha(files.data['examples.parquet']));
  });

  test('refuses any path that would escape DIR: step names, file names in a manifest, symbolic links', async () => {
    const { dir, store, keys } = await fixture();
    const out = join(dir, 'out');
    const createdAt = new Date().toISOString();
    for (const step of ['../evil', 'a/../../evil', '/abs', 'a//b', '.']) {
      await store.putRun('bad', { name: 'bad', steps: { [step]: keys.lone }, createdAt });
      await assert.rejects(downloadArtifacts(store, 'bad', { out }), /refusing step/, step);
    }
    assert.equal(existsSync(join(dir, 'evil')), false);
    assert.equal(existsSync(out), false);

    // a manifest tampered with in the store
    const m = (await store.manifest(keys.lone))!;
    const tampered = { ...m, files: [{ ...m.files[0], name: '../../escaped.bin' }] };
    await store.backend.putObject(`objects/${keys.lone}/manifest.json`, Buffer.from(JSON.stringify(tampered)));
    await assert.rejects(downloadArtifacts(store, keys.lone, { out }), /artifact file name|refusing file/);
    assert.equal(existsSync(join(dir, 'escaped.bin')), false);
    await store.backend.putObject(`objects/${keys.lone}/manifest.json`, Buffer.from(JSON.stringify(m)));

    // a directory inside DIR that links elsewhere
    const elsewhere = join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    mkdirSync(out);
    symlinkSync(elsewhere, join(out, 'data'));
    await assert.rejects(downloadArtifacts(store, 'exp-b', { out }), /symbolic link/);
    assert.deepEqual(readdirSync(elsewhere), []);
  });

  test('a corrupt file in the store fails the download and is not written', async () => {
    const { dir, store, keys } = await fixture();
    const out = join(dir, 'out');
    await store.backend.putObject(`objects/${keys.data}/tokens.parquet`, bytes(700, 99));
    await assert.rejects(
      downloadArtifacts(store, 'exp-b', { out }),
      (e: unknown) => e instanceof IntegrityError && e.file === 'tokens.parquet',
    );
    assert.equal(existsSync(join(out, 'data', 'tokens.parquet')), false);
    assert.equal(existsSync(join(out, 'data', 'manifest.json')), false);
  });
});

describe('polca artifacts (spawned)', () => {
  const polca = (args: string[], storeDir: string) =>
    spawnSync(process.execPath, [join(root, 'bin', 'polca.mjs'), 'artifacts', ...args], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, POLCA_STORE: 'local', POLCA_STORE_DIR: storeDir },
      timeout: 60_000,
    });

  test('ls, ls <run> --json, download, refusal to overwrite, unknown names', async () => {
    const { dir, store, files, keys } = await fixture();
    const storeDir = join(dir, 'store');
    const ls = polca(['ls', '--json'], storeDir);
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout), await listArtifacts(store));
    const run = polca(['ls', 'exp-a', '--json'], storeDir);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(
      (JSON.parse(run.stdout) as RunListing).steps.map((s) => s.key),
      [keys.data, keys.report, keys.t2, keys.t10],
    );
    const text = polca(['ls', 'exp-a'], storeDir);
    assert.match(text.stdout, /train\/10\s+train-[0-9a-f]{40}/);

    const out = join(dir, 'dl');
    const dl = polca(['download', 'exp-a', '--out', out], storeDir);
    assert.equal(dl.status, 0, dl.stderr);
    assert.match(dl.stdout, /downloaded run exp-a: 8 files/);
    assert.equal(sha(readFileSync(join(out, 'train', '2', 'state.safetensors'))), sha(files.t2['state.safetensors']));
    const again = polca(['download', 'exp-a', '--out', out], storeDir);
    assert.equal(again.status, 1);
    assert.match(again.stderr, /polca: 12 file\(s\) already exist .*--force/);
    const forced = polca(['download', 'exp-a', '--out', out, '--force'], storeDir);
    assert.equal(forced.status, 0, forced.stderr);

    const missing = polca(['ls', 'nope'], storeDir);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /no run "nope"/);
    const noOut = polca(['download', 'exp-a'], storeDir);
    assert.notEqual(noOut.status, 0);
    assert.match(noOut.stderr, /--out/);
  });
});

/**
 * Fault injection against the real store, local and MinIO. After a clean run of a short `tiny`
 * config (in this process, activities/local.ts), each scenario damages the store as a crash, a
 * partial restore or a bad disk would — a flipped byte, a truncated file, a deleted manifest, a
 * manifest that is not JSON, a flipped byte with its manifest deleted, a damaged input read by a
 * step that is not cached, a symbolic link planted inside the store — and runs again: every
 * scenario must end with the clean run's bytes, with the damaged step reported `recomputed`
 * (never `cached`). Downloads: a symbolic link planted at every path `artifacts download`
 * writes (each directory and each file) is refused, and nothing outside --out changes.
 * Through Temporal: `polca run --json` piped into Python's json.load while CPU burners load the
 * machine, recovery from a damaged input in a `tiny` run in under a minute, and `artifacts ls
 * --json` of 1 500 artifacts through a slow pipe.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runLocal } from '../../activities/local.ts';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { S3Backend } from '../../artifacts/s3.ts';
import { downloadArtifacts } from '../../cli/artifacts.ts';
import { verifyRun } from '../../cli/verify.ts';
import { resolveConfig } from '../../config/index.ts';
import type { ExperimentResult } from '../../pipeline/dag.ts';
import { polcaBin, type RunJson, root, sandbox, start } from '../../bench/experiment.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';

// Two segments of the tiny preset: the whole DAG, in a fraction of the time.
const config = resolveConfig({ preset: 'tiny', sets: ['train.iterations=80'] });
const tmpDirs: string[] = [];
const tmp = (name: string) => {
  const d = mkdtempSync(join(tmpdir(), `polca-integrity-${name}-`));
  tmpDirs.push(d);
  return d;
};
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});

let services: TestServices;
before(async () => {
  services = await getTestServices();
});

/** Every artifact's files with their SHA-256, by key; and whether every artifact verifies. */
async function digest(store: ArtifactStore): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const m of await store.list()) out.set(m.key, m.files.map((f) => `${f.name}:${f.size}:${f.sha256}`).join(','));
  return out;
}
async function allVerify(store: ArtifactStore): Promise<void> {
  for (const m of await store.list()) assert.ok(await store.verify(m.key), `artifact ${m.key} verifies`);
}

/** A snapshot of a directory tree: relative path → file bytes (hex of SHA-less content) or link target. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const n of readdirSync(d)) {
      const p = join(d, n);
      const st = lstatSync(p);
      const rel = relative(dir, p);
      if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(p)}`;
      else if (st.isDirectory()) {
        out[rel] = 'dir';
        walk(p);
      } else out[rel] = readFileSync(p).toString('base64');
    }
  };
  walk(dir);
  return out;
}

function flipByte(data: Uint8Array, at = Math.floor(data.byteLength / 2)): Uint8Array {
  const d = data.slice();
  d[at] ^= 0x20;
  return d;
}

const stepOf = (r: ExperimentResult, name: string) => {
  const s = r.steps.find((x) => x.name === name);
  assert.ok(s, `step ${name}`);
  return s;
};

interface Backend {
  name: string;
  open(): Promise<ArtifactStore>;
}
const backends: Backend[] = [
  { name: 'local', open: async () => new ArtifactStore(new LocalBackend(join(tmp('store'), 'store'))) },
  {
    name: 'minio',
    open: async () => {
      const s = services.s3;
      return new ArtifactStore(
        new S3Backend({
          bucket: s.bucket,
          endpoint: s.endpoint,
          prefix: `integrity-${Date.now().toString(36)}-${randomBytes(3).toString('hex')}`,
          credentials: { accessKeyId: s.accessKeyId, secretAccessKey: s.secretAccessKey },
        }),
      );
    },
  },
];

for (const backend of backends) {
  describe(`damaged artifacts are recomputed, never handed on (${backend.name})`, { concurrency: false }, () => {
    let store: ArtifactStore;
    let clean: Map<string, string>;
    let run: ExperimentResult;
    const key = (name: string) => stepOf(run, name).key;
    /** Rerun; the final store must hold exactly the clean run's bytes. */
    const rerun = async (label: string): Promise<ExperimentResult> => {
      const r = await runLocal(config, store, `integrity-${label}`);
      assert.deepEqual(await digest(store), clean, `${label}: the clean run's bytes`);
      await allVerify(store);
      return r;
    };

    before(async () => {
      store = await backend.open();
      run = await runLocal(config, store, 'integrity-clean');
      clean = await digest(store);
      assert.ok(clean.size >= 12, `${clean.size} artifacts`);
    });

    test('a flipped byte: the step is recomputed, not reported cached', { timeout: 300_000 }, async () => {
      const k = key('train/0');
      const path = `objects/${k}/checkpoints.safetensors`;
      await store.backend.putObject(path, flipByte((await store.backend.getObject(path))!));
      const r = await rerun('flip');
      assert.equal(stepOf(r, 'train/0').recomputed, true);
      assert.equal(stepOf(r, 'train/0').cached, false);
      assert.deepEqual(
        r.steps.filter((s) => !s.cached).map((s) => s.name),
        ['train/0'],
        'nothing else recomputed',
      );
    });

    test('a truncated Parquet file: recomputed', { timeout: 300_000 }, async () => {
      const k = key('trajectories');
      const path = `objects/${k}/loss.parquet`;
      const data = (await store.backend.getObject(path))!;
      await store.backend.putObject(path, data.subarray(0, data.byteLength - 100));
      const r = await rerun('truncate');
      assert.equal(stepOf(r, 'trajectories').recomputed, true);
    });

    test('a deleted manifest: the step is computed again from scratch and says recomputed', { timeout: 300_000 }, async () => {
      const k = key('polca/1');
      await store.backend.deleteObject(`objects/${k}/manifest.json`);
      const r = await rerun('no-manifest');
      assert.equal(stepOf(r, 'polca/1').cached, false);
      assert.equal(stepOf(r, 'polca/1').recomputed, true, 'files without a manifest: a recomputation');
    });

    test('a manifest that is not JSON: removed and recomputed', { timeout: 300_000 }, async () => {
      const k = key('basis/0');
      await store.backend.putObject(`objects/${k}/manifest.json`, Buffer.from('{"key": "basis-'));
      const r = await rerun('bad-manifest');
      assert.equal(stepOf(r, 'basis/0').recomputed, true);
      assert.equal(stepOf(r, 'basis/0').cached, false);
    });

    test('a flipped byte and a deleted manifest: the flipped file is not adopted', { timeout: 300_000 }, async () => {
      const k = key('train/0');
      for (const f of ['checkpoints.safetensors', 'state.safetensors']) {
        const path = `objects/${k}/${f}`;
        await store.backend.putObject(path, flipByte((await store.backend.getObject(path))!));
      }
      await store.backend.deleteObject(`objects/${k}/manifest.json`);
      const r = await rerun('flip-no-manifest');
      assert.equal(stepOf(r, 'train/0').cached, false);
      assert.equal(stepOf(r, 'train/0').recomputed, true);
    });

    test('a damaged input read by a step that is not cached: its producer is recomputed at once', { timeout: 300_000 }, async () => {
      // Cache hits check sizes only here, so that the damage is met by the consumer's full read.
      process.env.POLCA_HIT_HASH_MAX_MIB = '0';
      try {
        const k = key('train/0');
        for (const f of ['checkpoints.safetensors', 'state.safetensors']) {
          const path = `objects/${k}/${f}`;
          await store.backend.putObject(path, flipByte((await store.backend.getObject(path))!));
        }
        await store.delete(key('basis/0'));
        const r = await rerun('damaged-input');
        assert.equal(stepOf(r, 'train/0').recomputed, true, 'the producer of the damaged input');
        assert.equal(stepOf(r, 'train/0').cached, false);
        assert.equal(stepOf(r, 'basis/0').cached, false);
      } finally {
        delete process.env.POLCA_HIT_HASH_MAX_MIB;
      }
    });

    if (backend.name === 'local') {
      test('a symbolic link inside the store is refused, not followed: recomputed, its target untouched', {
        timeout: 300_000,
      }, async () => {
        const dir = (store.backend as LocalBackend).root;
        const k = key('data');
        const outside = tmp('outside');
        const target = join(outside, 'tokens.parquet');
        writeFileSync(target, readFileSync(join(dir, 'objects', k, 'tokens.parquet'))); // the very same bytes
        rmSync(join(dir, 'objects', k, 'tokens.parquet'));
        symlinkSync(target, join(dir, 'objects', k, 'tokens.parquet'));
        const before = snapshot(outside);
        await assert.rejects(downloadArtifacts(store, k, { out: join(tmp('dl'), 'out') }), /symbolic link/);
        const v = await verifyRun(store, 'integrity-clean');
        assert.deepEqual(
          v.damaged.map((d) => d.step),
          ['data'],
        );
        const r = await rerun('symlink');
        assert.equal(stepOf(r, 'data').recomputed, true);
        assert.deepEqual(snapshot(outside), before, 'the link target is untouched');
        assert.equal(lstatSync(join(dir, 'objects', k, 'tokens.parquet')).isSymbolicLink(), false);
      });
    }

    test('polca verify finds a damaged artifact and --repair recomputes it', { timeout: 300_000 }, async () => {
      const k = key('cluster/loss');
      const path = `objects/${k}/labels.parquet`;
      await store.backend.putObject(path, flipByte((await store.backend.getObject(path))!));
      const found = await verifyRun(store, 'integrity-clean');
      assert.deepEqual(
        found.damaged.map((d) => [d.step, d.state]),
        [['cluster/loss', 'damaged']],
      );
      assert.match(found.damaged[0].problem!, /labels\.parquet has SHA-256/);
      const fixed = await verifyRun(store, 'integrity-clean', { repair: true });
      assert.deepEqual(fixed.repaired, ['cluster/loss']);
      assert.deepEqual(fixed.damaged, []);
      assert.deepEqual(await digest(store), clean);
    });

    test('a symbolic link planted at every path `artifacts download` writes is refused; nothing outside --out changes', {
      timeout: 300_000,
    }, async () => {
      const base = tmp('download');
      const ref = join(base, 'ref');
      await downloadArtifacts(store, 'integrity-clean', { out: ref });
      const paths = Object.entries(snapshot(ref)).map(([p, kind]) => ({ p, dir: kind === 'dir' }));
      assert.ok(paths.length > 40, `${paths.length} paths`);
      const outside = join(base, 'outside');
      mkdirSync(join(outside, 'd'), { recursive: true });
      writeFileSync(join(outside, 'f'), 'outside');
      const before = snapshot(outside);
      let refused = 0;
      for (const { p, dir } of paths) {
        for (const force of [false, true]) {
          const out = join(base, `out-${refused}`);
          mkdirSync(join(out, dirname(p)), { recursive: true });
          symlinkSync(dir ? join(outside, 'd') : join(outside, 'f'), join(out, p));
          await assert.rejects(
            downloadArtifacts(store, 'integrity-clean', { out, force }),
            (e: unknown) => /symbolic link/.test((e as Error).message),
            `a link at ${p} (force ${force})`,
          );
          // refused before anything was created: only the planted link and its parents exist
          const left = Object.keys(snapshot(out)).filter((x) => !x.startsWith('.polca-download-'));
          assert.ok(left.length <= p.split('/').length, `${p}: ${left.join(', ')}`);
          refused++;
          rmSync(out, { recursive: true, force: true });
        }
      }
      assert.deepEqual(snapshot(outside), before, 'nothing outside --out changed');
      // and a clean download gives the stored bytes
      const out = join(base, 'final');
      const r = await downloadArtifacts(store, 'integrity-clean', { out });
      assert.equal(r.files + r.artifacts.length, paths.filter((x) => !x.dir).length);
      assert.deepEqual(snapshot(out), snapshot(ref));
    });
  });
}

/** CPU burners: `n` processes spinning until killed or `seconds` pass. */
function burners(n: number, seconds: number): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn(process.execPath, ['-e', `const end = Date.now() + ${seconds * 1000}; while (Date.now() < end) {}`], { stdio: 'ignore' }),
  );
}

describe('scripts read clean output (through Temporal and the CLI)', { concurrency: false }, () => {
  const sb = () => sandbox(services.temporalAddress, 'integrity');
  let box: ReturnType<typeof sandbox>;
  let first: RunJson;

  test('`polca run --preset tiny --json | python3 json.load` while CPU burners load the machine', { timeout: 600_000 }, async () => {
    box = sb();
    const burn = burners(2, 400);
    try {
      const id = `integrity-json-${Date.now()}`;
      const r = spawnSync(
        'bash',
        [
          '-c',
          `set -o pipefail; "${process.execPath}" "${polcaBin}" run --preset tiny --set runtime.heartbeatSeconds=30 --workers 1 --id ${id} --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["workflowId"], len(d["steps"]))'`,
        ],
        { env: box.env, encoding: 'utf8', timeout: 580_000 },
      );
      assert.equal(r.status, 0, `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(-3000)}`);
      assert.match(r.stdout, new RegExp(`^${id} \\d+\\n$`));
      const record = JSON.parse(readFileSync(join(box.storeDir, 'runs', `${id}.json`), 'utf8'));
      first = { workflowId: id, steps: Object.entries(record.steps).map(([name, key]) => ({ name, key })) } as unknown as RunJson;
    } finally {
      for (const b of burn) b.kill('SIGKILL');
    }
  });

  test('recovery from a damaged input in a tiny run takes less than a minute, and the step says `recomputed`', {
    timeout: 300_000,
  }, async () => {
    assert.ok(first, 'the previous test stored a tiny run');
    const store = new ArtifactStore(new LocalBackend(box.storeDir));
    const keyOf = (n: string) => first.steps.find((s) => s.name === n)!.key;
    const train0 = keyOf('train/0');
    const cleanTrain0 = (await store.manifest(train0))!.files;
    for (const f of cleanTrain0) {
      const path = `objects/${train0}/${f.name}`;
      await store.backend.putObject(path, flipByte((await store.backend.getObject(path))!));
    }
    await store.delete(keyOf('basis/0'));
    // sizes-only cache hits: the damage is met by basis/0 reading train/0 in full
    const env = { ...box.env, POLCA_HIT_HASH_MAX_MIB: '0' };
    const t0 = Date.now();
    const p = start(
      [
        'run',
        '--preset',
        'tiny',
        '--set',
        'runtime.heartbeatSeconds=30',
        '--workers',
        '1',
        '--id',
        `integrity-recover-${Date.now()}`,
        '--json',
      ],
      env,
    );
    const code = await p.exited;
    const seconds = (Date.now() - t0) / 1000;
    assert.equal(code, 0, p.stderr().slice(-3000));
    const out = JSON.parse(p.stdout()) as { steps: { name: string; cached: boolean; recomputed?: boolean }[] };
    const t = out.steps.find((s) => s.name === 'train/0')!;
    assert.equal(t.recomputed, true, 'train/0 recomputed');
    assert.equal(t.cached, false);
    assert.ok(seconds < 60, `recovered in ${seconds.toFixed(1)} s`);
    assert.deepEqual((await store.manifest(train0))!.files, cleanTrain0, 'the clean bytes again');
    assert.ok(!/InputIntegrityError[\s\S]*attempt 2/.test(p.stderr()), 'no retries of the consumer');
    console.log(`# recovery from a damaged input: ${seconds.toFixed(1)} s (whole run, worker start included)`);
  });

  test('`artifacts ls --json` of 1 500 artifacts through a slow pipe is one whole JSON document', { timeout: 300_000 }, async () => {
    const dir = tmp('many');
    const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
    for (let i = 0; i < 1500; i++) {
      await store.put({ step: 'many', version: '1', params: { i }, inputs: {} }, { 'x.bin': Buffer.from(`artifact ${i}`) });
    }
    const env = { ...process.env, POLCA_HOME: dir, POLCA_STORE: 'local', POLCA_STORE_DIR: join(dir, 'store') };
    const r = spawnSync(
      'bash',
      [
        '-c',
        `set -o pipefail; "${process.execPath}" "${polcaBin}" artifacts ls --json | (sleep 2; python3 -c 'import json,sys; d=json.load(sys.stdin); print(len(d["artifacts"]))')`,
      ],
      { env, encoding: 'utf8', timeout: 240_000, cwd: root },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), '1500');
  });
});

/**
 * kill -9 of a worker in the middle of a basis extension (a Lanczos run of `basis.maxIter`
 * Hessian-vector products), against a real Temporal dev server: a new worker finishes the
 * extension within 2 × heartbeatSeconds (the server notices the missing heartbeats and the retry
 * starts) plus the extension's own duration, replaying the products the killed attempt kept, and
 * the run ends with the bytes of an uninterrupted run of the same config.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ArtifactStore, LocalBackend } from '../../artifacts/index.ts';
import { killHard, polcaJson, type Proc, type RunJson, sandbox, start, storeDigest, waitUntil } from '../../bench/experiment.ts';
import { getTestServices, type TestServices } from '../helpers/services.ts';

const HB = 4;
// Twice tiny's Lanczos iterations, and a tolerance that does not stop it early: a longer
// extension to interrupt.
const CONFIG = ['--preset', 'tiny', '--set', `runtime.heartbeatSeconds=${HB}`, '--set', 'basis.maxIter=40', '--set', 'basis.tol=1e-9'];

let services: TestServices;
const procs: Proc[] = [];
before(async () => {
  services = await getTestServices();
});
after(async () => {
  for (const p of procs) if (p.child.exitCode === null && p.child.signalCode === null) await killHard(p);
});

function startProc(args: string[], env: NodeJS.ProcessEnv): Proc {
  const p = start(args, env);
  procs.push(p);
  return p;
}

test('kill -9 during a basis extension: recovered within 2 × heartbeatSeconds plus the extension, same bytes', {
  timeout: 20 * 60_000,
}, async (t) => {
  // The uninterrupted run: the bytes to compare with, and how long an extension takes here and now.
  const ref = sandbox(services.temporalAddress, 'basis-ref');
  const refRun = await polcaJson<RunJson>(['run', ...CONFIG, '--id', `basis-ref-${Date.now()}`], ref.env);
  const refStore = new ArtifactStore(new LocalBackend(ref.storeDir));
  const refDigest = await storeDigest(refStore);
  const extSeconds = new Map<string, number>();
  for (const m of await refStore.list()) if (m.step === 'basis') extSeconds.set(m.key, Number((m.meta as { seconds: number }).seconds));
  assert.ok(extSeconds.size >= 2, `basis extensions in the reference run: ${[...extSeconds.keys()].join(', ')}`);

  const sb = sandbox(services.temporalAddress, 'basis-crash');
  const scratch = join(sb.storeDir, 'scratch');
  const manifest = (key: string) => join(sb.storeDir, 'objects', key, 'manifest.json');
  /** A basis step with kept products and no stored artifact yet: an extension under way. */
  const midExtension = (): { key: string; products: number } | undefined => {
    if (!existsSync(scratch)) return undefined;
    for (const key of readdirSync(scratch)) {
      if (!key.startsWith('basis-') || existsSync(manifest(key))) continue;
      const products = readdirSync(join(scratch, key)).filter((f) => /^hvp-\d+\.bin$/.test(f)).length;
      if (products > 0) return { key, products };
    }
    return undefined;
  };
  const w1 = startProc(['worker'], sb.env);
  const run = startProc(['run', ...CONFIG, '--workers', '0', '--json', '--id', `basis-crash-${Date.now()}`], sb.env);
  let caught: { key: string; products: number } | undefined;
  await waitUntil(
    'a basis extension with kept products',
    () => {
      caught = midExtension();
      return caught !== undefined;
    },
    300_000,
    5,
  );
  await killHard(w1);
  const tKill = Date.now();
  const { key, products } = caught!;
  assert.ok(!existsSync(manifest(key)), 'killed before the extension was stored');
  const w2 = startProc(['worker'], sb.env);
  let workerStart = Number.NaN;
  await waitUntil('the new worker', () => w2.stderr().includes('compute: backend'), 120_000, 20).then(() => {
    workerStart = (Date.now() - tKill) / 1000;
  });
  await waitUntil(`basis ${key} stored`, () => existsSync(manifest(key)), 600_000, 20);
  const recovery = (Date.now() - tKill) / 1000;

  const ext = extSeconds.get(key);
  assert.ok(ext !== undefined, `${key} is one of the reference run's basis steps`);
  // The bound: the server times the killed attempt out within heartbeatSeconds of its last
  // heartbeat (≤ 2 × heartbeatSeconds after the kill, with the retry's 1 s backoff and dispatch),
  // then the retry redoes at most the whole extension. Margins for a loaded machine, both
  // measured in this test: the new worker's start-up (its process, the compute thread's backend)
  // when it takes longer than the heartbeat timeout, and twice the clean extension's duration.
  const bound = Math.max(2 * HB, workerStart) + 2 * ext + 5;
  t.diagnostic(
    `killed with ${products} products kept; recovered in ${recovery.toFixed(1)} s; bound ${bound.toFixed(1)} s = max(2 × ${HB}, worker start ${workerStart.toFixed(1)}) + 2 × extension ${ext.toFixed(1)} + 5`,
  );
  assert.ok(recovery <= bound, `recovered in ${recovery.toFixed(1)} s, bound ${bound.toFixed(1)} s`);

  const code = await run.exited;
  assert.equal(code, 0, run.stderr());
  const result = JSON.parse(run.stdout().trim().split('\n').pop()!) as RunJson;
  assert.deepEqual(
    result.steps.map((s) => [s.name, s.key]),
    refRun.steps.map((s) => [s.name, s.key]),
    'the same keys as the uninterrupted run',
  );
  const store = new ArtifactStore(new LocalBackend(sb.storeDir));
  const meta = (await store.manifest(key))?.meta as Record<string, unknown>;
  assert.ok(Number(meta.replayedProducts) > 0, `the retried extension replayed kept products (meta ${JSON.stringify(meta)})`);
  const digest = await storeDigest(store);
  assert.equal(digest.size, refDigest.size);
  for (const [k, files] of digest) assert.equal(files, refDigest.get(k), `artifact ${k} has the same bytes`);
  assert.deepEqual(await store.backend.list('locks/'), [], 'no lease left behind');
});

/**
 * The cost of the cache-hit check (ArtifactStore.check) on the local store: sizes only against a
 * full SHA-256 of every file, on artifacts of the sizes the `small` and `paper` presets write.
 * `small`: its whole store is synthesised (every step's artifact at its size). `paper` (about
 * 32 GB): one artifact of each large kind is synthesised (a training segment, the mean basis
 * extension, a POLCA chunk) and the whole store's hashing time is extrapolated from the measured
 * rate. Sizes come from the presets: P parameters, S segments, checkpoints per segment, N tokens.
 * Figures go to bench/results/store.md (section `hitcheck`).
 *
 *   node --import tsx bench/hitcheck.ts
 */
import { modelShape } from '../core/data.ts';
import { execSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ArtifactStore, LocalBackend } from '../artifacts/store.ts';
import { resolveConfig } from '../config/index.ts';
import type { Config } from '../config/schema.ts';
import { numParams } from '../core/model/model.ts';
import { writeSection } from './sections.ts';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

/** Bytes of each artifact of a run of `c`, by step name (tables approximated from row counts). */
export function artifactSizes(c: Config): Record<string, number> {
  const P = numParams(modelShape(c));
  const S = c.train.iterations / c.basis.every;
  const perSeg = c.basis.every / c.train.checkpointEvery;
  const N = 4 * c.data.evalSize;
  const T = c.train.iterations / c.train.checkpointEvery;
  const m = S * c.basis.k;
  const out: Record<string, number> = { data: 16 * N };
  for (let s = 0; s < S; s++) {
    const cps = perSeg + (s === 0 ? 1 : 0);
    out[`train/${s}`] = cps * P * 4 + 3 * P * 4 + cps * N * 13;
    out[`basis/${s}`] = (s + 1) * c.basis.k * P * 4;
    out[`polca/${s}`] = perSeg * N * m * 24;
  }
  out.trajectories = m * N * T * 4 + (T + 1) * N * 16;
  for (let j = 0; j < m + 3; j++) out[`cluster/${j}`] = N * 20;
  return out;
}

const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

async function main() {
  const dir = mkdtempSync(join(tmpdir(), 'polca-bench-hitcheck-'));
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
  const rows: string[] = [];
  try {
    const put = async (preset: string, name: string, bytes: number) =>
      (
        await store.put(
          { step: 'bench', version: '1', params: { preset, name }, inputs: {} },
          { 'data.bin': Buffer.alloc(bytes, name.length) },
        )
      ).key;
    // small: the whole store
    const small = artifactSizes(resolveConfig({ preset: 'small' }));
    const keys: string[] = [];
    for (const [name, bytes] of Object.entries(small)) keys.push(await put('small', name, bytes));
    const total = Object.values(small).reduce((a, b) => a + b, 0);
    const largest = Math.max(...Object.values(small));
    const sizesOnly = await time(async () => {
      for (const k of keys) await store.check(k, 0);
    });
    const hashed = await time(async () => {
      for (const k of keys) await store.check(k, Number.POSITIVE_INFINITY);
    });
    rows.push(
      `| small (whole store) | ${keys.length} | ${(total / MiB).toFixed(0)} MiB | ${(largest / MiB).toFixed(1)} MiB | ${sizesOnly.toFixed(2)} s | ${hashed.toFixed(2)} s |`,
    );
    // paper: one of each large kind, extrapolated by bytes
    const paper = artifactSizes(resolveConfig({ preset: 'paper' }));
    const S = Object.keys(paper).filter((k) => k.startsWith('train/')).length;
    const samples = { 'train/1': paper['train/1'], [`basis/${S / 2}`]: paper[`basis/${S / 2}`], 'polca/1': paper['polca/1'] };
    let bytes = 0;
    let secs = 0;
    const per: string[] = [];
    for (const [name, b] of Object.entries(samples)) {
      const k = await put('paper', name, b);
      const s = await time(() => store.check(k, Number.POSITIVE_INFINITY));
      const z = await time(() => store.check(k, 0));
      per.push(`${name} ${(b / MiB).toFixed(0)} MiB: hash ${s.toFixed(2)} s, sizes ${(z * 1000).toFixed(1)} ms`);
      bytes += b;
      secs += s;
      await store.delete(k);
    }
    const rate = bytes / secs;
    const paperTotal = Object.values(paper).reduce((a, b) => a + b, 0);
    const paperLargest = Math.max(...Object.values(paper));
    rows.push(
      `| paper (extrapolated at ${(rate / MiB).toFixed(0)} MiB/s) | ${Object.keys(paper).length} | ${(paperTotal / 2 ** 30).toFixed(1)} GiB | ${(paperLargest / MiB).toFixed(0)} MiB | ${((sizesOnly / keys.length) * Object.keys(paper).length).toFixed(2)} s | ${(paperTotal / rate).toFixed(0)} s |`,
    );
    const cpu = execSync("lscpu | sed -n 's/^Model name: *//p'").toString().trim();
    const body = [
      '## Cache-hit check: sizes only against a full hash',
      '',
      `Local store, ${new Date().toISOString().slice(0, 10)}, ${cpu}, load average ${loadavg()
        .map((x) => x.toFixed(1))
        .join(' ')} (\`node --import tsx bench/hitcheck.ts\`). A cached rerun checks every artifact once.`,
      '',
      '| store | artifacts | bytes | largest artifact | sizes only | full SHA-256 |',
      '|---|---:|---:|---:|---:|---:|',
      ...rows,
      '',
      `paper samples: ${per.join('; ')}.`,
      '',
    ].join('\n');
    writeSection(join(here, 'results', 'store.md'), 'hitcheck', body);
    console.log(body);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main();

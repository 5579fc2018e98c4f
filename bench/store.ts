/**
 * Artifact store throughput: put and get (verified) of a 100 MB artifact on the local backend and
 * on MinIO (its own server on a free port with temporary data, stopped at the end), and Parquet
 * write/read of a POLCA-shaped table. Figures go to bench/results/store.md.
 *
 *   node --import tsx bench/store.ts [--mb 100] [--rows 1000000] [--repeat 3]
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { decodeParquet, encodeParquet } from '../artifacts/parquet.ts';
import { S3Backend } from '../artifacts/s3.ts';
import { ArtifactStore, LocalBackend } from '../artifacts/store.ts';
import { freePort, startMinio, stopPid } from '../services/manager.ts';
import { writeSection } from './sections.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name: string, dflt: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const MB = opt('mb', 100);
const ROWS = opt('rows', 1_000_000);
const REPEAT = opt('repeat', 3);
const work = mkdtempSync(join(tmpdir(), 'polca-bench-store-'));

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const time = async (f: () => Promise<unknown>) => {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
};

interface StoreFigures {
  backend: string;
  put: number;
  get: number;
  verify: number;
  exportFile: number;
}

async function benchStore(name: string, store: ArtifactStore): Promise<StoreFigures> {
  // 100 MB in one file, like a segment's checkpoints.safetensors; random so nothing compresses
  const data = new Uint8Array(MB * 1e6);
  for (let o = 0; o < data.length; o += 65536) data.set(randomBytes(Math.min(65536, data.length - o)), o);
  const puts: number[] = [];
  const gets: number[] = [];
  const verifies: number[] = [];
  const exports: number[] = [];
  for (let r = 0; r < REPEAT; r++) {
    const spec = { step: 'bench', version: '1', params: { r, t: Date.now() }, inputs: {} };
    let key = '';
    puts.push(await time(async () => (key = (await store.put(spec, { 'checkpoints.safetensors': data })).key)));
    gets.push(await time(() => store.get(key, 'checkpoints.safetensors')));
    verifies.push(await time(() => store.verify(key)));
    const dest = join(work, `export-${r}.bin`);
    exports.push(await time(() => store.exportFile(key, 'checkpoints.safetensors', dest)));
    rmSync(dest);
    await store.delete(key);
    console.log(`${name} round ${r + 1}: put ${puts.at(-1)!.toFixed(2)} s, get ${gets.at(-1)!.toFixed(2)} s`);
  }
  const rate = (s: number) => MB / s;
  return {
    backend: name,
    put: rate(median(puts)),
    get: rate(median(gets)),
    verify: rate(median(verifies)),
    exportFile: rate(median(exports)),
  };
}

async function benchParquet() {
  // the shape of polca.parquet: interval, token, vector int32; first, second, polca float32
  const n = ROWS;
  const cols = [
    { name: 'interval', type: 'int32' as const, values: Int32Array.from({ length: n }, (_, i) => Math.floor(i / 50000)) },
    { name: 'token', type: 'int32' as const, values: Int32Array.from({ length: n }, (_, i) => i % 5000) },
    { name: 'vector', type: 'int32' as const, values: Int32Array.from({ length: n }, (_, i) => (i * 7) % 11) },
    { name: 'first', type: 'float32' as const, values: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3) },
    { name: 'second', type: 'float32' as const, values: Float32Array.from({ length: n }, (_, i) => Math.cos(i) * 1e-5) },
    {
      name: 'polca',
      type: 'float32' as const,
      values: Float32Array.from({ length: n }, (_, i) => Math.sin(i) * 1e-3 + Math.cos(i) * 1e-5),
    },
  ];
  const w: number[] = [];
  const rd: number[] = [];
  let bytes: Uint8Array = new Uint8Array(0);
  for (let r = 0; r < REPEAT; r++) {
    w.push(await time(async () => (bytes = encodeParquet(cols))));
    let t: Awaited<ReturnType<typeof decodeParquet>> = {};
    rd.push(await time(async () => (t = await decodeParquet(bytes))));
    if ((t.polca as Float32Array)[n - 1] !== cols[5].values[n - 1]) throw new Error('Parquet read back differs');
  }
  return { rows: n, write: n / median(w), read: n / median(rd), sizeMB: bytes.byteLength / 1e6 };
}

const results: StoreFigures[] = [];
results.push(await benchStore('local directory', new ArtifactStore(new LocalBackend(join(work, 'store')))));
const minioDir = join(work, 'minio');
const m = await startMinio(minioDir, await freePort(), 'bench');
try {
  const s3 = new S3Backend({ bucket: 'bench', endpoint: m.endpoint, prefix: 'bench', credentials: m.credentials });
  results.push(await benchStore('MinIO (same machine, HTTP)', new ArtifactStore(s3)));
} finally {
  await stopPid(m.proc.pid!, 'minio');
}
const pq = await benchParquet();
rmSync(work, { recursive: true, force: true });

const f = (x: number) => x.toFixed(0);
const lines = [
  `Measured ${new Date().toISOString().slice(0, 10)} on ${cpus().length} cores (${cpus()[0]?.model.trim()}), Node ${process.version}; the machine was shared with other work, so figures are indicative. Median of ${REPEAT}.`,
  '',
  `Store, one ${MB} MB file (random bytes), MB/s (MB = 10^6 bytes). put = write + SHA-256 + manifest; get = read into memory + size/SHA-256 check; verify = streamed hash of every file; export = streamed, verified copy to a local file (what \`polca artifacts download\` does).`,
  '',
  '| backend | put | get | verify | export |',
  '|---|---|---|---|---|',
  ...results.map((r) => `| ${r.backend} | ${f(r.put)} | ${f(r.get)} | ${f(r.verify)} | ${f(r.exportFile)} |`),
  '',
  `Parquet (hyparquet-writer / hyparquet), ${pq.rows.toLocaleString('en-US')} rows × (3 int32 + 3 float32), the shape of polca.parquet, snappy, in memory: write ${Math.round(pq.write).toLocaleString('en-US')} rows/s, read ${Math.round(pq.read).toLocaleString('en-US')} rows/s, ${pq.sizeMB.toFixed(1)} MB.`,
];
console.log(`\n${lines.join('\n')}`);
writeSection(join(here, 'results', 'store.md'), 'store', `## Store throughput (bench/store.ts)\n\n${lines.join('\n')}\n`);

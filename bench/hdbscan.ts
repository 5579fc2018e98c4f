/**
 * HDBSCAN benchmark: trajectory-like data (groups of noisy step curves with steps at different
 * checkpoints, plus uniform noise), d = 200.
 *
 *   node --import tsx bench/hdbscan.ts [--reps 5] [--sizes 1000,2000,5000,10000,20000]
 *        [--sklearn-max 10000] [--python /tmp/hdbvenv/bin/python] [--out bench/results/hdbscan.md]
 *
 * Every measurement runs in a fresh child process (so peak RSS is that run's own): the headline
 * n = 5000, d = 200 `reps` times (best and median wall time, CPU time), then each size of the
 * growth table once, next to scikit-learn's HDBSCAN(algorithm="brute") on the same data through
 * bench/hdbscan_sklearn.py when a Python with scikit-learn is found (POLCA_PYTHON, --python,
 * /tmp/hdbvenv/bin/python, python3); otherwise that column says "n/a".
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { hdbscan } from '../core/cluster/hdbscan.ts';

const MIN_CLUSTER_SIZE = 10;

/** Deterministic trajectory-like rows: 4 step times + 10 % uniform noise rows. */
export function benchData(n: number, d: number, seed = 1): Float64Array[] {
  let s = seed >>> 0 || 1;
  const u = () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
  const gauss = () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
  const steps = [0.15, 0.4, 0.6, 0.85].map((f) => Math.round(f * d));
  return Array.from({ length: n }, (_, i) => {
    const row = new Float64Array(d);
    if (i % 10 === 9) for (let t = 0; t < d; t++) row[t] = 2.2 * u();
    else {
      const at = steps[i % 4];
      for (let t = 0; t < d; t++) row[t] = (t < at ? 2 : 0.2) + 0.15 * gauss();
    }
    return row;
  });
}

function arg(name: string, dflt: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

interface Run {
  seconds: number;
  cpu: number;
  rssMB: number;
  clusters: number;
}

function child(n: number, d: number): void {
  const data = benchData(n, d);
  hdbscan(benchData(200, d), { minClusterSize: MIN_CLUSTER_SIZE }); // warm the JIT
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = hdbscan(data, { minClusterSize: MIN_CLUSTER_SIZE });
  const seconds = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const out: Run = { seconds, cpu: (c.user + c.system) / 1e6, rssMB: process.resourceUsage().maxRSS / 1024, clusters: r.nClusters };
  console.log(JSON.stringify(out));
}

function runOurs(n: number, d: number): Run {
  const out = execFileSync(process.execPath, [...process.execArgv, import.meta.filename, '--child', String(n), String(d)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string);
}

function findPython(): string | null {
  const candidates = [process.env.POLCA_PYTHON, arg('python', ''), '/tmp/hdbvenv/bin/python', 'python3'].filter((x): x is string => !!x);
  for (const py of candidates) {
    const r = spawnSync(py, ['-c', 'import sklearn, numpy; print(sklearn.__version__)'], { encoding: 'utf8' });
    if (r.status === 0) return py;
  }
  return null;
}

function runSklearn(py: string, dir: string, data: Float64Array[], algorithm: string): Run | null {
  const n = data.length;
  const d = data[0].length;
  const flat = new Float64Array(n * d);
  for (let i = 0; i < n; i++) flat.set(data[i], i * d);
  const file = join(dir, `x-${n}.f64`);
  writeFileSync(file, new Uint8Array(flat.buffer));
  const script = join(import.meta.dirname, 'hdbscan_sklearn.py');
  const r = spawnSync(py, [script, file, String(n), String(d), String(MIN_CLUSTER_SIZE), algorithm], { encoding: 'utf8' });
  rmSync(file);
  if (r.status !== 0) {
    console.error(`scikit-learn run failed for n=${n}: ${r.stderr.slice(-400)}`);
    return null;
  }
  return JSON.parse(r.stdout.trim().split('\n').at(-1) as string);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

function main(): void {
  const reps = Number(arg('reps', '5'));
  const sizes = arg('sizes', '1000,2000,5000,10000,20000').split(',').map(Number);
  const sklearnMax = Number(arg('sklearn-max', '10000'));
  const outFile = arg('out', join(import.meta.dirname, 'results', 'hdbscan.md'));
  const d = 200;
  const py = findPython();
  const sklearnVersion = py ? execFileSync(py, ['-c', 'import sklearn; print(sklearn.__version__)'], { encoding: 'utf8' }).trim() : null;
  const load0 = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');

  const head: Run[] = [];
  for (let i = 0; i < reps; i++) {
    head.push(runOurs(5000, d));
    console.log(
      `n=5000 d=200 rep ${i + 1}: ${head[i].seconds.toFixed(2)} s wall, ${head[i].cpu.toFixed(2)} s CPU, ${head[i].rssMB.toFixed(0)} MB`,
    );
  }
  const walls = head.map((r) => r.seconds);
  const dir = mkdtempSync(join(tmpdir(), 'hdbscan-bench-'));
  const rows: string[] = [];
  try {
    for (const n of sizes) {
      const ours = runOurs(n, d);
      const sk = py && n <= sklearnMax ? runSklearn(py, dir, benchData(n, d), 'brute') : null;
      const skCell = sk ? `${sk.seconds.toFixed(2)} s (${sk.cpu.toFixed(2)} CPU) | ${sk.rssMB.toFixed(0)} MB` : 'n/a | n/a';
      const line = `| ${n} | ${ours.seconds.toFixed(2)} s (${ours.cpu.toFixed(2)} CPU) | ${ours.rssMB.toFixed(0)} MB | ${ours.clusters} | ${skCell} | ${sk ? sk.clusters : 'n/a'} |`;
      console.log(line);
      rows.push(line);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const load1 = execFileSync('cat', ['/proc/loadavg'], { encoding: 'utf8' }).split(' ').slice(0, 3).join(' ');
  const md = `# HDBSCAN benchmark

Machine: ${availableParallelism()} cores (${cpus()[0]?.model ?? '?'}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.
**The machine was shared with other work during the run** (load average ${load0} before, ${load1} after, on 2 cores),
so wall times are upper bounds; CPU time is given next to each.

Data: trajectory-like rows (4 groups of noisy step curves with the step at different checkpoints, 10 % uniform
noise rows), d = 200, minClusterSize = 10, minSamples = 10. Ours: \`hdbscan()\` with its defaults (2 threads,
distance matrix kept while n² · 8 B ≤ 2 GiB). scikit-learn ${sklearnVersion ?? '(not available)'}: \`HDBSCAN(algorithm="brute")\`
through bench/hdbscan_sklearn.py on the same data, run up to n = ${sklearnMax}. Each cell is one fresh process; peak RSS is that process's.
Command: \`node --import tsx bench/hdbscan.ts\`.

## n = 5000, d = 200 (target ≤ 5 s on 2 cores)

${reps} runs: best ${Math.min(...walls).toFixed(2)} s, median ${median(walls).toFixed(2)} s wall; CPU ${head.map((r) => r.cpu.toFixed(2)).join(', ')} s; peak RSS ${median(head.map((r) => r.rssMB)).toFixed(0)} MB.

## Growth

| n | ours | ours peak RSS | clusters | scikit-learn | sklearn peak RSS | clusters |
|---|---|---|---|---|---|---|
${rows.join('\n')}
`;
  writeFileSync(outFile, md);
  console.log(`wrote ${outFile}`);
}

if (process.argv[2] === '--child') child(Number(process.argv[3]), Number(process.argv[4]));
else if (import.meta.filename === process.argv[1]) main();

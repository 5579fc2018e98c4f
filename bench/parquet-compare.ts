/**
 * Parquet libraries compared: hyparquet + hyparquet-writer (what artifacts/parquet.ts uses),
 * parquetjs-lite and @dsnp/parquetjs, on
 *   - correctness: a round trip of int32, int64, float32, float64, utf8 and boolean columns with
 *     nulls, and the same file read by DuckDB (types and values);
 *   - speed: write and read of a float table (a float32 and a float64 column), rows/s.
 *
 * The two alternatives are not project dependencies. Install them outside the repository and
 * point PARQUET_COMPARE_DIR at that directory (default /tmp/pqcompare):
 *   npm install --prefix /tmp/pqcompare parquetjs-lite @dsnp/parquetjs
 *   node --import tsx bench/parquet-compare.ts [--rows 5000000] [--upkeep]
 * A library that is not installed there is skipped. --upkeep adds each package's registry facts
 * (`npm view`: latest version, its publish date, dependencies, engines). Figures go to
 * bench/results/store.md.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DuckDBInstance } from '@duckdb/node-api';
import { decodeParquet, encodeParquet } from '../artifacts/parquet.ts';
import { writeSection } from './sections.ts';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const ROWS = Number(args[args.indexOf('--rows') + 1] || 0) || 5_000_000;
const dir = process.env.PARQUET_COMPARE_DIR ?? '/tmp/pqcompare';
const work = mkdtempSync(join(tmpdir(), 'polca-pqcompare-'));

type Row = Record<string, unknown>;
interface Lib {
  name: string;
  version: string;
  /** Write rows of the typed table to `file`. */
  write(file: string, cols: TestCol[], n: number): Promise<void>;
  /** Read `file` back column-wise. */
  read(file: string, names: string[]): Promise<Record<string, unknown[] | ArrayLike<unknown>>>;
}

interface TestCol {
  name: string;
  type: 'int32' | 'int64' | 'float32' | 'float64' | 'utf8' | 'boolean';
  values: ArrayLike<unknown>;
  nullable: boolean;
}

// ---- the libraries

const hyparquet: Lib = {
  name: 'hyparquet + hyparquet-writer',
  version: `${pkgVersion(join(here, '..', 'node_modules', 'hyparquet'))} + ${pkgVersion(join(here, '..', 'node_modules', 'hyparquet-writer'))}`,
  async write(file, cols) {
    writeFileSync(file, encodeParquet(cols.map((c) => ({ name: c.name, type: c.type, values: c.values as never, nullable: c.nullable }))));
  },
  async read(file, names) {
    return (await decodeParquet(new Uint8Array(readFileSync(file)), names)) as Record<string, ArrayLike<unknown>>;
  },
};

function pkgVersion(pkgDir: string): string {
  try {
    return (JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

/** parquetjs-lite and @dsnp/parquetjs share the row-oriented parquetjs API. */
function parquetjsLike(name: string, mod: Record<string, unknown>, version: string): Lib {
  const P = ((mod as { default?: unknown }).default ?? mod) as {
    ParquetSchema: new (s: Record<string, unknown>) => unknown;
    ParquetWriter: {
      openFile(
        schema: unknown,
        path: string,
        opts?: unknown,
      ): Promise<{ appendRow(r: Row): Promise<void>; close(): Promise<void>; setRowGroupSize?(n: number): void }>;
    };
    ParquetReader: {
      openFile(path: string): Promise<{ getCursor(cols?: string[][]): { next(): Promise<Row | null> }; close(): Promise<void> }>;
    };
  };
  const TYPE = { int32: 'INT32', int64: 'INT64', float32: 'FLOAT', float64: 'DOUBLE', utf8: 'UTF8', boolean: 'BOOLEAN' } as const;
  return {
    name,
    version,
    async write(file, cols, n) {
      const schema = new P.ParquetSchema(
        Object.fromEntries(cols.map((c) => [c.name, { type: TYPE[c.type], optional: c.nullable, compression: 'SNAPPY' }])),
      );
      const w = await P.ParquetWriter.openFile(schema, file);
      w.setRowGroupSize?.(65536);
      for (let i = 0; i < n; i++) {
        const row: Row = {};
        for (const c of cols) {
          const v = c.values[i];
          if (v !== null && v !== undefined) row[c.name] = v;
        }
        await w.appendRow(row);
      }
      await w.close();
    },
    async read(file, names) {
      const r = await P.ParquetReader.openFile(file);
      const cursor = r.getCursor(names.map((x) => [x]));
      const out: Record<string, unknown[]> = Object.fromEntries(names.map((x) => [x, []]));
      for (let row = await cursor.next(); row; row = await cursor.next()) for (const x of names) out[x].push(row[x] ?? null);
      await r.close();
      return out;
    },
  };
}

async function loadAlternatives(): Promise<{ libs: Lib[]; skipped: string[] }> {
  const req = createRequire(join(dir, 'package.json'));
  const libs: Lib[] = [];
  const skipped: string[] = [];
  for (const name of ['parquetjs-lite', '@dsnp/parquetjs']) {
    try {
      const main = req.resolve(name);
      const mod = req(name) as Record<string, unknown>;
      libs.push(parquetjsLike(name, mod, pkgVersion(join(main.slice(0, main.lastIndexOf(`node_modules/${name}`)), 'node_modules', name))));
    } catch (e) {
      skipped.push(`${name} (not loadable from ${dir}: ${(e as Error).message.split('\n')[0]})`);
    }
  }
  return { libs, skipped };
}

// ---- correctness

const N_CHECK = 1000;
function checkTable(): TestCol[] {
  const n = N_CHECK;
  return [
    {
      name: 'i32',
      type: 'int32',
      nullable: true,
      values: Array.from({ length: n }, (_, i) => (i % 11 === 0 ? null : i % 2 ? -2147483648 + i : 2147483647 - i)),
    },
    {
      name: 'i64',
      type: 'int64',
      nullable: true,
      values: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : BigInt(i) * 3_000_000_007n - 2n ** 62n)),
    },
    {
      name: 'f32',
      type: 'float32',
      nullable: true,
      values: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : Math.fround(i / 3 - 100))),
    },
    {
      name: 'f64',
      type: 'float64',
      nullable: true,
      values: Array.from({ length: n }, (_, i) => (i % 5 === 0 ? null : Math.PI * i * 1e-7)),
    },
    { name: 's', type: 'utf8', nullable: true, values: Array.from({ length: n }, (_, i) => (i % 3 === 0 ? null : `tok-${i}-é€`)) },
    { name: 'b', type: 'boolean', nullable: true, values: Array.from({ length: n }, (_, i) => (i % 17 === 0 ? null : i % 2 === 0)) },
  ];
}

const EXPECTED_DUCK_TYPES = ['i32:INTEGER', 'i64:BIGINT', 'f32:FLOAT', 'f64:DOUBLE', 's:VARCHAR', 'b:BOOLEAN'];

function same(a: unknown, b: unknown): boolean {
  if (typeof a === 'bigint' || typeof b === 'bigint') {
    try {
      return BigInt(a as bigint) === BigInt(b as bigint);
    } catch {
      return false;
    }
  }
  if (a instanceof Uint8Array || (typeof Buffer !== 'undefined' && Buffer.isBuffer(a)))
    return Buffer.from(a as Uint8Array).toString('utf8') === b;
  return Object.is(a, b);
}

async function correctness(lib: Lib, con: Awaited<ReturnType<DuckDBInstance['connect']>>): Promise<{ roundTrip: string; duckdb: string }> {
  const cols = checkTable();
  const file = join(work, `check-${lib.name.replace(/\W+/g, '_')}.parquet`);
  let roundTrip = 'ok';
  try {
    await lib.write(file, cols, N_CHECK);
    const back = await lib.read(
      file,
      cols.map((c) => c.name),
    );
    const bad: string[] = [];
    for (const c of cols) {
      const got = back[c.name];
      for (let i = 0; i < N_CHECK; i++) {
        if (!same(got[i], c.values[i])) {
          bad.push(`${c.name}[${i}]: ${String(got[i])} (${typeof got[i]}) for ${String(c.values[i])}`);
          break;
        }
      }
    }
    if (bad.length) roundTrip = `differs: ${bad.join('; ')}`;
  } catch (e) {
    return { roundTrip: `fails: ${(e as Error).message.split('\n')[0]}`, duckdb: 'not written' };
  }
  let duckdb = 'ok';
  try {
    const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`))
      .getRowObjects()
      .map((r) => `${r.column_name}:${r.column_type}`);
    if (types.join() !== EXPECTED_DUCK_TYPES.join()) duckdb = `types ${types.join(', ')}`;
    const rows = (await con.runAndReadAll(`SELECT * FROM '${file}'`)).getRows();
    const bad: string[] = [];
    cols.forEach((c, j) => {
      for (let i = 0; i < N_CHECK; i++) {
        if (!same(rows[i][j], c.values[i])) {
          bad.push(`${c.name}[${i}]: ${String(rows[i][j])} for ${String(c.values[i])}`);
          break;
        }
      }
    });
    if (bad.length) duckdb = `${duckdb === 'ok' ? '' : `${duckdb}; `}values differ: ${bad.join('; ')}`;
  } catch (e) {
    duckdb = `fails: ${(e as Error).message.split('\n')[0]}`;
  }
  return { roundTrip, duckdb };
}

// ---- speed

function floatTable(n: number): TestCol[] {
  const f32 = new Float32Array(n);
  const f64 = new Float64Array(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    f32[i] = (x / 2 ** 32 - 0.5) * 4;
    f64[i] = Math.sin(i * 1e-3) + x / 2 ** 40;
  }
  return [
    { name: 'f32', type: 'float32', values: f32, nullable: false },
    { name: 'f64', type: 'float64', values: f64, nullable: false },
  ];
}

async function speed(lib: Lib, cols: TestCol[], n: number) {
  const file = join(work, `speed-${lib.name.replace(/\W+/g, '_')}.parquet`);
  const t0 = performance.now();
  await lib.write(file, cols, n);
  const t1 = performance.now();
  const back = await lib.read(file, ['f32', 'f64']);
  const t2 = performance.now();
  // spot-check the values read
  for (const i of [0, 1, n >> 1, n - 1]) {
    if (
      !same(Number(back.f64[i]), (cols[1].values as Float64Array)[i]) ||
      !same(Number(back.f32[i]), (cols[0].values as Float32Array)[i])
    ) {
      throw new Error(`${lib.name}: row ${i} read back differs`);
    }
  }
  const size = readFileSync(file).byteLength;
  rmSync(file);
  return { writeS: (t1 - t0) / 1000, readS: (t2 - t1) / 1000, size };
}

// ---- main

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');
const { libs: alternatives, skipped } = await loadAlternatives();
const libs = [hyparquet, ...alternatives];
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const lines: string[] = [];
lines.push(
  `Measured ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${ROWS.toLocaleString('en-US')} rows × (float32, float64), snappy; a 2-core machine shared with other work, so figures are indicative.`,
);
lines.push('');
lines.push('| library | version | round trip (6 types, nulls) | DuckDB reads it | write rows/s | read rows/s | file MB |');
lines.push('|---|---|---|---|---|---|---|');
const table = floatTable(ROWS);
for (const lib of libs) {
  const c = await correctness(lib, con);
  let s: { writeS: number; readS: number; size: number } | undefined;
  let err = '';
  try {
    s = await speed(lib, table, ROWS);
  } catch (e) {
    err = (e as Error).message.split('\n')[0];
  }
  const row = `| ${lib.name} | ${lib.version} | ${c.roundTrip} | ${c.duckdb} | ${s ? fmt(ROWS / s.writeS) : `fails: ${err}`} | ${s ? fmt(ROWS / s.readS) : '-'} | ${s ? (s.size / 1e6).toFixed(1) : '-'} |`;
  lines.push(row);
  console.log(row);
}
for (const s of skipped) lines.push(`\nskipped: ${s}`);
if (args.includes('--upkeep')) lines.push('', ...upkeep(['hyparquet', 'hyparquet-writer', 'parquetjs-lite', '@dsnp/parquetjs']));
con.closeSync();
rmSync(work, { recursive: true, force: true });

const out = join(here, 'results', 'store.md');
writeSection(out, 'parquet-compare', `## Parquet libraries compared (bench/parquet-compare.ts)\n\n${lines.join('\n')}\n`);
console.log(`\n${lines.join('\n')}\n\nwritten to ${out}`);

/** Registry facts from `npm view` (it shows no issue counts; the repository is named instead). */
function upkeep(names: string[]): string[] {
  const out = [
    `Upkeep (\`npm view\`, ${new Date().toISOString().slice(0, 10)}; npm shows no open-issue counts):`,
    '',
    '| package | latest | published | versions | dependencies | engines | repository |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const name of names) {
    const r = spawnSync('npm', ['view', name, '--json'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) {
      out.push(`| ${name} | npm view failed | | | | | |`);
      continue;
    }
    const d = JSON.parse(r.stdout) as {
      'dist-tags': { latest: string };
      time?: Record<string, string>;
      versions?: string[];
      dependencies?: Record<string, string>;
      engines?: Record<string, string>;
      repository?: { url?: string };
    };
    const latest = d['dist-tags'].latest;
    out.push(
      `| ${name} | ${latest} | ${d.time?.[latest]?.slice(0, 10) ?? '?'} | ${d.versions?.length ?? '?'} | ${Object.keys(d.dependencies ?? {}).length} | ${d.engines?.node ?? '-'} | ${d.repository?.url?.replace(/^git\+|\.git$/g, '') ?? '-'} |`,
    );
  }
  return out;
}

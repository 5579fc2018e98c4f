import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { DuckDBInstance } from '@duckdb/node-api';
import { spawnSync } from 'node:child_process';
import { mkdtempSync as mkdtempRaw, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ArtifactStore,
  canonicalJson,
  decodeParquet,
  decodeSafetensors,
  encodeParquet,
  encodeSafetensors,
  LocalBackend,
  stepKey,
} from '../../artifacts/index.ts';

const tmpDirs: string[] = [];
after(() => {
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
});
function mkdtempSync(prefix: string): string {
  const d = mkdtempRaw(prefix);
  tmpDirs.push(d);
  return d;
}

test('step keys ignore key order, undefined fields and -0, and change with the code version', () => {
  const a = stepKey({ step: 'train', version: '1', params: { b: 1, a: [1, 2], c: undefined, z: -0 }, inputs: { data: 'data-x' } });
  const b = stepKey({ step: 'train', version: '1', params: { a: [1, 2], z: 0, b: 1.0 }, inputs: { data: 'data-x' } });
  assert.equal(a, b);
  assert.match(a, /^train-[0-9a-f]{40}$/);
  assert.notEqual(a, stepKey({ step: 'train', version: '2', params: { a: [1, 2], z: 0, b: 1 }, inputs: { data: 'data-x' } }));
  assert.notEqual(a, stepKey({ step: 'train', version: '1', params: { a: [1, 2], z: 0, b: 1 }, inputs: { data: 'data-y' } }));
  assert.throws(() => canonicalJson({ x: Number.NaN }), /\$\.x: NaN cannot be part of a step key/);
  assert.throws(() => stepKey({ step: 'Bad Step', version: '1', params: {}, inputs: {} }), /allowed: lower-case/);
});

test('safetensors round trip and the documented layout', () => {
  const data = Float32Array.from({ length: 10 }, (_, i) => i * 0.5 - 1);
  const bytes = encodeSafetensors(
    { w: { dtype: 'F32', shape: [2, 5], data }, i: { dtype: 'I32', shape: [2], data: Int32Array.of(7, -8) } },
    { step: '3' },
  );
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString());
  assert.deepEqual(header.w, { dtype: 'F32', shape: [2, 5], data_offsets: [8, 48] });
  assert.deepEqual(header.__metadata__, { step: '3' });
  assert.equal((8 + n) % 8, 0);
  const back = decodeSafetensors(bytes);
  assert.deepEqual([...back.tensors.w.data], [...data]);
  assert.deepEqual([...back.tensors.i.data], [7, -8]);
});

test('Parquet tables round trip with their types and read identically in DuckDB', async () => {
  const n = 1000;
  const cols = [
    { name: 'i32', type: 'int32' as const, values: Int32Array.from({ length: n }, (_, i) => i - 500) },
    { name: 'i64', type: 'int64' as const, values: BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 10_000_000_000n) },
    { name: 'f32', type: 'float32' as const, values: Float32Array.from({ length: n }, (_, i) => Math.fround(i / 3)) },
    { name: 'f64', type: 'float64' as const, values: Float64Array.from({ length: n }, (_, i) => Math.PI * i) },
    { name: 's', type: 'utf8' as const, values: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : `tok-${i}-é`)), nullable: true },
    { name: 'b', type: 'boolean' as const, values: Array.from({ length: n }, (_, i) => i % 3 === 0) },
  ];
  const bytes = encodeParquet(cols);
  const t = await decodeParquet(bytes);
  assert.deepEqual([...(t.i32 as Int32Array)], [...cols[0].values]);
  assert.deepEqual([...(t.i64 as BigInt64Array)], [...cols[1].values]);
  assert.deepEqual([...(t.f32 as Float32Array)], [...cols[2].values]);
  assert.deepEqual([...(t.f64 as Float64Array)], [...cols[3].values]);
  assert.deepEqual(t.s, cols[4].values);
  assert.deepEqual(t.b, cols[5].values);
  const dir = mkdtempSync(join(tmpdir(), 'polca-pq-'));
  const file = join(dir, 't.parquet');
  writeFileSync(file, bytes);
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  const types = (await con.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`))
    .getRowObjects()
    .map((r) => `${r.column_name}:${r.column_type}`);
  assert.deepEqual(types, ['i32:INTEGER', 'i64:BIGINT', 'f32:FLOAT', 'f64:DOUBLE', 's:VARCHAR', 'b:BOOLEAN']);
  const rows = (await con.runAndReadAll(`SELECT * FROM '${file}' ORDER BY i32`)).getRows();
  rows.forEach((r, i) => {
    assert.equal(r[0], cols[0].values[i]);
    assert.equal(r[1], (cols[1].values as BigInt64Array)[i]);
    assert.equal(r[2], cols[2].values[i]);
    assert.equal(r[3], cols[3].values[i]);
    assert.equal(r[4], (cols[4].values as (string | null)[])[i]);
    assert.equal(r[5], (cols[5].values as boolean[])[i]);
  });
  con.closeSync();
});

/** Run one query in a fresh in-memory DuckDB. */
async function duck<T>(f: (con: Awaited<ReturnType<DuckDBInstance['connect']>>) => Promise<T>): Promise<T> {
  const db = await DuckDBInstance.create(':memory:');
  const con = await db.connect();
  try {
    return await f(con);
  } finally {
    con.closeSync();
  }
}

test('a table stored as an artifact reads in DuckDB with nulls in every type, extremes and special floats', async () => {
  const cols = [
    { name: 'i32', type: 'int32' as const, nullable: true, values: [0, null, -2147483648, 2147483647, 7] },
    { name: 'i64', type: 'int64' as const, nullable: true, values: [0n, null, -(2n ** 63n), 2n ** 63n - 1n, 9007199254740993n] },
    { name: 'f32', type: 'float32' as const, nullable: true, values: [Math.fround(0.1), null, Number.NaN, -0, Math.fround(3.4e38)] },
    {
      name: 'f64',
      type: 'float64' as const,
      nullable: true,
      values: [0.1, null, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 5e-324],
    },
    { name: 'b', type: 'boolean' as const, nullable: true, values: [true, null, false, true, false] },
    { name: 's', type: 'utf8' as const, nullable: true, values: ['', null, 'ü €', 'a,"b"\n', 'x'.repeat(1000)] },
  ];
  const dir = mkdtempSync(join(tmpdir(), 'polca-pq-store-'));
  const store = new ArtifactStore(new LocalBackend(join(dir, 'store')));
  const m = await store.put({ step: 'table', version: '1', params: {}, inputs: {} }, { 't.parquet': encodeParquet(cols) });
  const file = join(dir, 't.parquet');
  await store.exportFile(m.key, 't.parquet', file);

  const back = await decodeParquet(await store.get(m.key, 't.parquet'));
  for (const c of cols) assert.deepEqual(back[c.name], c.values, c.name);

  const { types, rows } = await duck(async (con) => ({
    types: (await con.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`))
      .getRowObjects()
      .map((r) => `${r.column_name}:${r.column_type}:${r.null}`),
    rows: (await con.runAndReadAll(`SELECT * FROM '${file}'`)).getRows(),
  }));
  assert.deepEqual(types, ['i32:INTEGER:YES', 'i64:BIGINT:YES', 'f32:FLOAT:YES', 'f64:DOUBLE:YES', 'b:BOOLEAN:YES', 's:VARCHAR:YES']);
  assert.equal(rows.length, 5);
  rows.forEach((r, i) => {
    cols.forEach((c, j) => {
      assert.ok(Object.is(r[j], c.values[i]), `${c.name}[${i}]: DuckDB ${String(r[j])}, written ${String(c.values[i])}`);
    });
  });
});

test('tables DuckDB writes decode to the same values (the other direction)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polca-pq-duck-'));
  const file = join(dir, 'd.parquet');
  const sql = `COPY (SELECT i::INTEGER AS i32, (i * 3000000000)::BIGINT AS i64, (i / 8)::FLOAT AS f32, (i / 3)::DOUBLE AS f64,
      i % 2 = 0 AS b, CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || i END AS s FROM range(0, 3000) t(i))
    TO '${file}' (FORMAT parquet, COMPRESSION snappy, ROW_GROUP_SIZE 1000)`;
  await duck((con) => con.run(sql));
  const t = await decodeParquet(new Uint8Array(readFileSync(file)));
  for (let i = 0; i < 3000; i += 1) {
    assert.equal((t.i32 as ArrayLike<number>)[i], i);
    assert.equal((t.i64 as ArrayLike<bigint>)[i], BigInt(i) * 3000000000n);
    assert.equal((t.f32 as ArrayLike<number>)[i], Math.fround(i / 8));
    assert.equal((t.f64 as ArrayLike<number>)[i], i / 3);
    assert.equal((t.b as ArrayLike<boolean>)[i], i % 2 === 0);
    assert.equal((t.s as ArrayLike<string | null>)[i], i % 5 === 0 ? null : `v${i}`);
  }
  // a column subset
  assert.deepEqual(Object.keys(await decodeParquet(new Uint8Array(readFileSync(file)), ['f64', 'i32'])).sort(), ['f64', 'i32']);
});

test('encodeParquet errors name the column and the row', () => {
  const one =
    (type: string, values: unknown[], nullable = false) =>
    () =>
      encodeParquet([{ name: 'col', type: type as 'int32', values: values as number[], nullable }]);
  assert.throws(one('int32', [1, 2 ** 31]), /column col: row 1 is 2147483648, expected an integer/);
  assert.throws(one('int32', [0.5]), /column col: row 0 is 0\.5/);
  assert.throws(one('int64', [1n, 5]), /column col: row 1 is 5, expected a bigint/);
  assert.throws(one('int64', [2n ** 63n]), /row 0 is 9223372036854775808n/);
  assert.throws(one('utf8', ['a', 3]), /row 1 is 3, expected a string/);
  assert.throws(one('boolean', [1]), /expected a boolean/);
  assert.throws(one('float64', [1, null]), /column col: null values in a column not declared nullable \(row 1\)/);
  assert.throws(one('float64', ['1']), /expected a number/);
  assert.throws(
    () => encodeParquet([{ name: 'x', type: 'int64', values: Int32Array.of(1) }]),
    /column x: a Int32Array cannot hold int64 values/,
  );
  assert.throws(() => encodeParquet([{ name: 'x', type: 'int32', values: Float64Array.of(1.5) }]), /column x: row 0 is 1\.5/);
  assert.throws(
    () =>
      encodeParquet([
        { name: 'x', type: 'int32', values: [1] },
        { name: 'x', type: 'int32', values: [2] },
      ]),
    /column x appears twice/,
  );
  assert.throws(
    () =>
      encodeParquet([
        { name: 'x', type: 'int32', values: [1] },
        { name: 'y', type: 'int32', values: [1, 2] },
      ]),
    /column y: 2 values, expected 1/,
  );
  // integral float arrays are fine for int32 columns
  assert.doesNotThrow(() => encodeParquet([{ name: 'x', type: 'int32', values: Float64Array.of(1, -2) }]));
});

const hasPyarrow = spawnSync('python3', ['-c', 'import pyarrow'], { stdio: 'ignore' }).status === 0;

test('pyarrow reads the same values and types (when pyarrow is installed)', {
  skip: hasPyarrow ? false : 'pyarrow is not installed',
}, () => {
  const dir = mkdtempSync(join(tmpdir(), 'polca-pq-arrow-'));
  const file = join(dir, 't.parquet');
  writeFileSync(
    file,
    encodeParquet([
      { name: 'i32', type: 'int32', values: Int32Array.of(1, -2) },
      { name: 'i64', type: 'int64', values: BigInt64Array.of(3n, -(2n ** 62n)) },
      { name: 'f32', type: 'float32', values: Float32Array.of(0.5, -1.25) },
      { name: 'f64', type: 'float64', values: [0.1, null], nullable: true },
      { name: 'b', type: 'boolean', values: [true, false] },
      { name: 's', type: 'utf8', values: ['é', null], nullable: true },
    ]),
  );
  const py = `import json, sys, pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
print(json.dumps({"types": [f"{f.name}:{f.type}" for f in t.schema], "rows": [[str(v) if isinstance(v, int) and abs(v) > 2**53 else v for v in r.values()] for r in t.to_pylist()]}))`;
  const r = spawnSync('python3', ['-c', py, file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  assert.deepEqual(got.types, ['i32:int32', 'i64:int64', 'f32:float', 'f64:double', 'b:bool', 's:string']);
  assert.deepEqual(got.rows, [
    [1, 3, 0.5, 0.1, true, 'é'],
    [-2, String(-(2n ** 62n)), -1.25, null, false, null],
  ]);
});

test('openStore chooses the backend from the environment and shows no credentials', async () => {
  const { openStore, storeOptionsFromEnv } = await import('../../artifacts/index.ts');
  const dir = mkdtempSync(join(tmpdir(), 'polca-open-'));
  assert.equal(openStore(storeOptionsFromEnv({ POLCA_STORE_DIR: dir })).location, `local:${dir}`);
  assert.equal(openStore(storeOptionsFromEnv({ POLCA_HOME: dir })).location, `local:${join(dir, 'store')}`);
  const s3 = openStore(
    storeOptionsFromEnv({
      POLCA_STORE: 's3',
      POLCA_S3_ENDPOINT: 'http://user:hunter2-secret@127.0.0.1:9000',
      POLCA_S3_BUCKET: 'b',
      POLCA_S3_PREFIX: '/team/x/',
      AWS_SECRET_ACCESS_KEY: 'never-shown-1234',
    }),
  );
  assert.equal(s3.location, 's3://b/team/x at http://127.0.0.1:9000');
  assert.equal(openStore(storeOptionsFromEnv({ POLCA_STORE: 's3' })).location, 's3://polca/');
  assert.throws(() => storeOptionsFromEnv({ POLCA_STORE: 'gcs' }), /POLCA_STORE: "gcs" is not a store kind; allowed: local, s3/);
});

test('redact removes credential values and access key ids from a text', async () => {
  const { redact } = await import('../../artifacts/s3.ts');
  const env = { AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY', AWS_SESSION_TOKEN: 'tok-0123456789' };
  const text = `signed with wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY and tok-0123456789 by AKIAIOSFODNN7EXAMPLE; extra s3cr3t-value`;
  assert.equal(redact(text, env, ['s3cr3t-value']), 'signed with [redacted] and [redacted] by [redacted]; extra [redacted]');
  // short values are not treated as secrets (they would blank out ordinary words)
  assert.equal(redact('a b c', { AWS_SECRET_ACCESS_KEY: 'b' }), 'a b c');
});

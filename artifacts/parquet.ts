/**
 * Parquet tables through hyparquet-writer (write) and hyparquet (read): pure JavaScript, typed
 * columns, snappy compression. Column types map to Parquet physical/logical types:
 * int32 → INT32, int64 → INT64, float32 → FLOAT, float64 → DOUBLE, utf8 → BYTE_ARRAY UTF8,
 * boolean → BOOLEAN. Columns are nullable only when declared so (nulls allowed in array data).
 */
import { parquetRead, parquetMetadata } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

export type ColumnType = 'int32' | 'int64' | 'float32' | 'float64' | 'utf8' | 'boolean';
export type ColumnValues =
  | Int32Array
  | BigInt64Array
  | Float32Array
  | Float64Array
  | readonly (number | null)[]
  | readonly (bigint | null)[]
  | readonly (string | null)[]
  | readonly (boolean | null)[];

export interface Column {
  name: string;
  type: ColumnType;
  values: ColumnValues;
  nullable?: boolean;
}

const BASIC: Record<ColumnType, string> = {
  int32: 'INT32',
  int64: 'INT64',
  float32: 'FLOAT',
  float64: 'DOUBLE',
  utf8: 'STRING',
  boolean: 'BOOLEAN',
};

const VALID: Record<ColumnType, [string, (v: unknown) => boolean]> = {
  int32: ['an integer in [-2^31, 2^31)', (v) => Number.isInteger(v) && (v as number) >= -2147483648 && (v as number) <= 2147483647],
  int64: ['a bigint in [-2^63, 2^63)', (v) => typeof v === 'bigint' && BigInt.asIntN(64, v) === v],
  float32: ['a number', (v) => typeof v === 'number'],
  float64: ['a number', (v) => typeof v === 'number'],
  utf8: ['a string', (v) => typeof v === 'string'],
  boolean: ['a boolean', (v) => typeof v === 'boolean'],
};

/** Errors name the column and the first offending row. */
function checkColumn(c: Column): void {
  if (!Object.hasOwn(VALID, c.type))
    throw new Error(`column ${c.name}: type ${JSON.stringify(c.type)}; allowed: ${Object.keys(VALID).join(', ')}`);
  const [what, ok] = VALID[c.type];
  if (ArrayBuffer.isView(c.values)) {
    const isBig = c.values instanceof BigInt64Array;
    if (isBig !== (c.type === 'int64') || c.type === 'utf8' || c.type === 'boolean') {
      throw new Error(`column ${c.name}: a ${c.values.constructor.name} cannot hold ${c.type} values`);
    }
    if (c.type !== 'int32' || c.values instanceof Int32Array) return;
  }
  const values = c.values as ArrayLike<unknown>;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) {
      if (!c.nullable) throw new Error(`column ${c.name}: null values in a column not declared nullable (row ${i})`);
    } else if (!ok(v)) {
      throw new Error(`column ${c.name}: row ${i} is ${typeof v === 'bigint' ? `${v}n` : JSON.stringify(v)}, expected ${what} (${c.type})`);
    }
  }
}

export function encodeParquet(columns: Column[]): Uint8Array {
  if (columns.length === 0) throw new Error('a table needs at least one column');
  const n = columns[0].values.length;
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`column ${c.name} appears twice`);
    seen.add(c.name);
    if (c.values.length !== n) throw new Error(`column ${c.name}: ${c.values.length} values, expected ${n} like ${columns[0].name}`);
    checkColumn(c);
  }
  const buf = parquetWriteBuffer({
    columnData: columns.map((c) => ({
      name: c.name,
      data: c.values as never,
      type: BASIC[c.type] as never,
      nullable: c.nullable ?? false,
    })),
    createdBy: 'polca',
  });
  return new Uint8Array(buf);
}

export type DecodedColumn = Int32Array | BigInt64Array | Float32Array | Float64Array | unknown[];
export type Table = Record<string, DecodedColumn>;

function toArrayBuffer(bytes: Uint8Array): ArrayBuffer {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
    ? (bytes.buffer as ArrayBuffer)
    : (bytes.slice().buffer as ArrayBuffer);
}

/** Decode a whole table column-wise. Numeric non-null columns come back as typed arrays. */
export async function decodeParquet(bytes: Uint8Array, columns?: string[]): Promise<Table> {
  const file = toArrayBuffer(bytes);
  const meta = parquetMetadata(file);
  const numRows = Number(meta.num_rows);
  const chunks: Record<string, { rowStart: number; data: ArrayLike<unknown> }[]> = {};
  await parquetRead({
    file,
    columns,
    onChunk(chunk) {
      (chunks[chunk.columnName] ??= []).push({ rowStart: chunk.rowStart, data: chunk.columnData as ArrayLike<unknown> });
    },
  });
  const out: Table = {};
  const schema = meta.schema.slice(1);
  for (const el of schema) {
    if (columns && !columns.includes(el.name)) continue;
    const parts = (chunks[el.name] ?? []).sort((a, b) => a.rowStart - b.rowStart);
    const optional = el.repetition_type === 'OPTIONAL';
    let arr: DecodedColumn;
    if (!optional && el.type === 'INT32') arr = new Int32Array(numRows);
    else if (!optional && el.type === 'INT64') arr = new BigInt64Array(numRows);
    else if (!optional && el.type === 'FLOAT') arr = new Float32Array(numRows);
    else if (!optional && el.type === 'DOUBLE') arr = new Float64Array(numRows);
    else arr = new Array(numRows);
    for (const p of parts) {
      const len = Math.min(p.data.length, numRows - p.rowStart);
      if (ArrayBuffer.isView(arr) && ArrayBuffer.isView(p.data))
        (arr as Float64Array).set((p.data as Float64Array).subarray(0, len), p.rowStart);
      else for (let i = 0; i < len; i++) (arr as unknown[])[p.rowStart + i] = p.data[i];
    }
    out[el.name] = arr;
  }
  return out;
}

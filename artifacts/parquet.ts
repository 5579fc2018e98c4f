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

export function encodeParquet(columns: Column[]): Uint8Array {
  if (columns.length === 0) throw new Error('a table needs at least one column');
  const n = columns[0].values.length;
  for (const c of columns) {
    if (c.values.length !== n) throw new Error(`column ${c.name}: ${c.values.length} values, expected ${n} like ${columns[0].name}`);
    if (!c.nullable && Array.isArray(c.values) && c.values.some((v) => v === null || v === undefined)) {
      throw new Error(`column ${c.name}: null values in a column not declared nullable`);
    }
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
      if (ArrayBuffer.isView(arr) && ArrayBuffer.isView(p.data)) (arr as Float64Array).set((p.data as Float64Array).subarray(0, len), p.rowStart);
      else for (let i = 0; i < len; i++) (arr as unknown[])[p.rowStart + i] = p.data[i];
    }
    out[el.name] = arr;
  }
  return out;
}

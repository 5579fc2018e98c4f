/**
 * The safetensors layout (https://huggingface.co/docs/safetensors): an 8-byte little-endian
 * header length N, N bytes of JSON header ({name: {dtype, shape, data_offsets: [begin, end]}, and
 * an optional "__metadata__" map of strings}, padded with spaces to a multiple of 8), then the
 * raw little-endian tensor bytes. Readable with `safetensors.numpy.load_file`.
 */
export type Dtype = 'F32' | 'F64' | 'I32';
export type TensorData = Float32Array | Float64Array | Int32Array;
export interface Tensor {
  dtype: Dtype;
  shape: number[];
  data: TensorData;
}

const BYTES: Record<Dtype, number> = { F32: 4, F64: 8, I32: 4 };
const CTORS = { F32: Float32Array, F64: Float64Array, I32: Int32Array } as const;

export function encodeSafetensors(tensors: Record<string, Tensor>, metadata?: Record<string, string>): Uint8Array {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = {};
  if (metadata && Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length)
      throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} holds ${count} values, data has ${t.data.length}`);
    const bytes = count * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const d = tensors[name].data;
    out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), pos);
    pos += d.byteLength;
  }
  return out;
}

export function decodeSafetensors(bytes: Uint8Array): { tensors: Record<string, Tensor>; metadata: Record<string, string> } {
  if (bytes.length < 8) throw new Error('safetensors: file shorter than its 8-byte header length');
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (8 + n > bytes.length) throw new Error(`safetensors: header length ${n} exceeds the file`);
  const header = JSON.parse(Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors: Record<string, Tensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = v as Record<string, string>;
      continue;
    }
    const { dtype, shape, data_offsets } = v as { dtype: Dtype; shape: number[]; data_offsets: [number, number] };
    const Ctor = CTORS[dtype];
    if (!Ctor) throw new Error(`safetensors: tensor ${name} has unsupported dtype ${dtype}; supported: F32, F64, I32`);
    const [b, e] = data_offsets;
    // copy to an aligned buffer
    const raw = bytes.slice(base + b, base + e);
    tensors[name] = { dtype, shape, data: new Ctor(raw.buffer, raw.byteOffset, (e - b) / BYTES[dtype]) };
  }
  return { tensors, metadata };
}

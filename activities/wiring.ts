/**
 * The wiring activity: writes an artifact of `size` bytes derived from `token` to the store,
 * reads it back (the store verifies size and SHA-256 against the manifest) and compares it byte
 * for byte with what was written. The artifact is deleted afterwards unless `keep` is set.
 */
import { createHash } from 'node:crypto';
import type { ArtifactStore } from '../artifacts/store.ts';

export interface WiringInput {
  token: string;
  size?: number;
  /** Leave the artifact in the store (tests inspect it); default false. */
  keep?: boolean;
}

export interface WiringResult {
  key: string;
  location: string;
  bytes: number;
  sha256: string;
  /** PID of the process that ran the activity. */
  pid: number;
}

/** Deterministic bytes from a token: SHA-256 in counter mode. */
export function wiringBytes(token: string, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let off = 0, i = 0; off < size; off += 32, i++) {
    const block = createHash('sha256').update(`${token}:${i}`).digest();
    out.set(block.subarray(0, Math.min(32, size - off)), off);
  }
  return out;
}

export const WIRING_FILE = 'probe.bin';

export function wiringSpec(token: string) {
  return { step: 'wiring', version: '1', params: { token }, inputs: {} };
}

export function createWiringActivities(store: ArtifactStore) {
  return {
    async wiringRoundTrip(input: WiringInput): Promise<WiringResult> {
      const size = input.size ?? 4096;
      const data = wiringBytes(input.token, size);
      const m = await store.put(wiringSpec(input.token), { [WIRING_FILE]: data }, { purpose: 'wiring check' });
      const back = await store.get(m.key, WIRING_FILE);
      if (back.byteLength !== data.byteLength || !Buffer.from(back).equals(Buffer.from(data))) {
        throw new Error(`wiring check: the object read back from ${store.location} differs from the one written`);
      }
      if (!input.keep) await store.delete(m.key);
      return {
        key: m.key,
        location: store.location,
        bytes: back.byteLength,
        sha256: createHash('sha256').update(back).digest('hex'),
        pid: process.pid,
      };
    },
  };
}

export type WiringActivities = ReturnType<typeof createWiringActivities>;

/**
 * Step keys: `<step>-<sha256 hex>` of the canonical JSON of (step, code version, parameters,
 * input keys). Canonical: object keys sorted, undefined fields dropped, −0 written as 0, numbers
 * in JavaScript's shortest round-trip form (so 1, 1.0 and 1e0 are one number); NaN and ±Infinity are
 * rejected (they have no JSON form), and so are non-plain objects (Date, Map, typed arrays, ...).
 * A bigint is written as its decimal string. The form is fixed: changing it re-keys every artifact.
 */
import { createHash } from 'node:crypto';

export interface StepSpec {
  step: string;
  /** The step's code version: bump it when the step's output for the same inputs changes. */
  version: string;
  params: unknown;
  inputs: Record<string, string>;
}

export function canonicalJson(value: unknown, path = '$'): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new Error(`${path}: ${value} cannot be part of a step key`);
      return JSON.stringify(Object.is(value, -0) ? 0 : value);
    case 'string':
    case 'boolean':
      return JSON.stringify(value);
    case 'bigint':
      return JSON.stringify(value.toString());
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v, i) => canonicalJson(v === undefined ? null : v, `${path}[${i}]`)).join(',')}]`;
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        // Date, Map, Set, typed arrays, class instances: their JSON form would lose or hide content
        throw new Error(
          `${path}: a ${value.constructor?.name ?? 'non-plain object'} cannot be part of a step key; use plain objects, arrays, strings, numbers, booleans`,
        );
      }
      const entries = Object.entries(value as Record<string, unknown>)
        .filter(([, v]) => v !== undefined)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v, `${path}.${k}`)}`).join(',')}}`;
    }
    default:
      throw new Error(`${path}: a ${typeof value} cannot be part of a step key`);
  }
}

export function sha256Hex(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

const STEP_NAME = /^[a-z][a-z0-9-]*$/;

export function stepKey(spec: StepSpec): string {
  if (!STEP_NAME.test(spec.step)) throw new Error(`step name ${JSON.stringify(spec.step)}: allowed: lower-case letters, digits and '-'`);
  const body = canonicalJson({ step: spec.step, version: spec.version, params: spec.params ?? null, inputs: spec.inputs });
  return `${spec.step}-${sha256Hex(body).slice(0, 40)}`;
}

export const KEY_PATTERN = /^[a-z][a-z0-9-]*-[0-9a-f]{40}$/;

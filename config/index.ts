/**
 * Config resolution: defaults ← preset ← config file ← `--set path=value` overrides, validated
 * by one zod schema. Every error names the field path, the value given and what is allowed.
 * Before anything is merged, the input's shape is checked without recursion: the keys
 * `__proto__`, `constructor` and `prototype` are refused by name (merging them would reach
 * Object.prototype), and so is nesting deeper than MAX_CONFIG_DEPTH levels.
 */
import { z } from 'zod';
import { getTaskSpec } from '../core/tasks/specs.ts';
import { PRESET_NAMES, PRESETS, type PresetName } from './presets.ts';
import { type Config, type ConfigInput, configSchema, REMOVED_FIELDS } from './schema.ts';

export * from './presets.ts';
export * from './schema.ts';

export class ConfigError extends Error {
  constructor(
    message: string,
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

type Plain = Record<string, unknown>;
const isPlain = (v: unknown): v is Plain => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Keys that would reach an object's prototype when merged or assigned. */
export const FORBIDDEN_KEYS = ['__proto__', 'constructor', 'prototype'] as const;
/** Deepest nesting a config may have (it needs 3: section, field, array element). */
export const MAX_CONFIG_DEPTH = 8;

const shownPath = (path: string[]) => {
  const p = path.length > 12 ? [...path.slice(0, 6), `…(${path.length - 9} more)…`, ...path.slice(-3)] : path;
  return p.join('.') || '(root)';
};

/**
 * Check a config-shaped value before it is used: no forbidden key at any depth, no nesting deeper
 * than MAX_CONFIG_DEPTH. Iterative (an explicit stack), so any depth gives a clear error.
 */
export function checkConfigShape(value: unknown, where = ''): void {
  const base = where ? where.split('.') : [];
  const stack: { v: unknown; path: string[] }[] = [{ v: value, path: base }];
  while (stack.length) {
    const { v, path } = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (path.length - base.length >= MAX_CONFIG_DEPTH) {
      const at = shownPath(path);
      throw new ConfigError(
        `${at}: the config is nested more than ${MAX_CONFIG_DEPTH} levels deep; allowed: sections of fields (see \`polca config schema\`)`,
        [{ path: at, message: `nested more than ${MAX_CONFIG_DEPTH} levels` }],
      );
    }
    for (const k of Object.keys(v)) {
      if ((FORBIDDEN_KEYS as readonly string[]).includes(k)) {
        const at = shownPath([...path, k]);
        throw new ConfigError(`${at}: the key ${JSON.stringify(k)} is not allowed in a config (${FORBIDDEN_KEYS.join(', ')} never are)`, [
          { path: at, message: `forbidden key ${k}` },
        ]);
      }
      stack.push({ v: (v as Plain)[k], path: [...path, k] });
    }
  }
}

/** Deep merge of plain objects; arrays and scalars from `over` replace those of `base`. */
export function deepMerge<T>(base: T, over: unknown): T {
  if (!isPlain(base) || !isPlain(over)) return (over === undefined ? base : over) as T;
  const out: Plain = { ...base };
  for (const [k, v] of Object.entries(over)) {
    if (v === undefined) continue;
    if ((FORBIDDEN_KEYS as readonly string[]).includes(k)) throw new ConfigError(`${k}: the key is not allowed in a config`);
    out[k] = Object.hasOwn(out, k) ? deepMerge(out[k], v) : v;
  }
  return out as T;
}

function valueAt(obj: unknown, path: PropertyKey[]): unknown {
  let cur = obj;
  for (const p of path) {
    if (!isPlain(cur) && !Array.isArray(cur)) return undefined;
    cur = (cur as Plain)[p as string];
  }
  return cur;
}

function describeIssue(issue: z.core.$ZodIssue, input: unknown): { path: string; message: string } {
  const path = issue.path.map(String).join('.') || '(root)';
  const given = valueAt(input, issue.path);
  let allowed = '';
  if (issue.code === 'invalid_value' && 'values' in issue) {
    allowed = `allowed: ${(issue.values as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
  } else if (issue.code === 'too_small') {
    allowed = `allowed: ${issue.inclusive === false ? '>' : '≥'} ${String(issue.minimum)}`;
  } else if (issue.code === 'too_big') {
    allowed = `allowed: ${issue.inclusive === false ? '<' : '≤'} ${String(issue.maximum)}`;
  } else if (issue.code === 'unrecognized_keys') {
    allowed = `unknown field(s) ${issue.keys.join(', ')}`;
  } else if (issue.code === 'invalid_type') {
    allowed = `expected ${issue.expected}`;
  }
  const givenText = given === undefined ? '' : ` (given ${JSON.stringify(given)})`;
  return { path, message: `${path}: ${issue.message}${givenText}${allowed ? `; ${allowed}` : ''}` };
}

/** Fields of `input` that earlier versions had and this one removed, with why. */
function removedIssues(input: unknown): { path: string; message: string }[] {
  return Object.entries(REMOVED_FIELDS)
    .filter(([path]) => valueAt(input, path.split('.')) !== undefined)
    .map(([path, why]) => ({ path, message: why }));
}

/**
 * `input` without the fields REMOVED_FIELDS names (a copy; the input is not changed). For
 * workflows started before those fields were removed: their recorded input still carries them,
 * and they must go on (replay) rather than fail on validation.
 */
export function withoutRemovedFields(input: unknown): unknown {
  if (!input || typeof input !== 'object') return input;
  const out = JSON.parse(JSON.stringify(input)) as Record<string, unknown>;
  for (const path of Object.keys(REMOVED_FIELDS)) {
    const parts = path.split('.');
    const parent = valueAt(out, parts.slice(0, -1)) as Record<string, unknown> | undefined;
    if (parent && typeof parent === 'object') delete parent[parts[parts.length - 1]];
  }
  return out;
}

/** Validate a full or partial config; throws ConfigError naming every bad field. */
export function validateConfig(input: unknown): Config {
  const removed = removedIssues(input);
  if (removed.length > 0) throw new ConfigError(`invalid config:\n  ${removed.map((i) => i.message).join('\n  ')}`, removed);
  const r = configSchema.safeParse(input);
  if (r.success) {
    // `basis.kind=hessian` is the default spelled out: one config, whichever way it is written.
    if (r.data.basis.kind === 'hessian') delete r.data.basis.kind;
    // Likewise the default task spelled out (`task: { name: 'arithmetic' }`).
    if (r.data.task && getTaskSpec(r.data.task.name).isDefault(r.data.task as never)) delete r.data.task;
    return r.data;
  }
  const issues = r.error.issues.map((i) => describeIssue(i, input));
  throw new ConfigError(`invalid config:\n  ${issues.map((i) => i.message).join('\n  ')}`, issues);
}

/** Parse a `--set path=value` override: the value is JSON when it parses, else a string. */
export function parseSet(expr: string): { path: string[]; value: unknown } {
  const eq = expr.indexOf('=');
  if (eq <= 0) throw new ConfigError(`--set expects path=value, got ${JSON.stringify(expr)}`);
  const path = expr.slice(0, eq).split('.');
  for (const p of path) {
    if ((FORBIDDEN_KEYS as readonly string[]).includes(p)) {
      throw new ConfigError(`--set ${path.join('.')}: the key ${JSON.stringify(p)} is not allowed in a config`, [
        { path: path.join('.'), message: `forbidden key ${p}` },
      ]);
    }
  }
  const raw = expr.slice(eq + 1);
  let value: unknown = raw;
  try {
    value = JSON.parse(raw);
  } catch {
    value = raw;
  }
  checkConfigShape(value, path.join('.'));
  return { path, value };
}

function setAt(obj: Plain, path: string[], value: unknown): Plain {
  const [head, ...rest] = path;
  if (rest.length === 0) return { ...obj, [head]: value };
  const child = isPlain(obj[head]) ? (obj[head] as Plain) : {};
  return { ...obj, [head]: setAt(child, rest, value) };
}

export interface ResolveOptions {
  preset?: string;
  /** A (partial) config, e.g. read from --config FILE or a workflow input. */
  config?: unknown;
  /** `--set path=value` expressions. */
  sets?: string[];
}

/** defaults ← preset ← config ← sets, validated. */
export function resolveConfig(opts: ResolveOptions = {}): Config {
  const partial = isPlain(opts.config) ? opts.config : opts.config === undefined ? {} : undefined;
  if (partial === undefined) {
    const given = Array.isArray(opts.config) ? 'an array' : JSON.stringify(opts.config)?.slice(0, 80);
    throw new ConfigError(`(root): config must be a JSON object, got ${given}`, [{ path: '(root)', message: 'expected an object' }]);
  }
  checkConfigShape(partial);
  if (partial.preset !== undefined && typeof partial.preset !== 'string') {
    throw new ConfigError(`preset: expected a string, one of ${PRESET_NAMES.join(', ')}`, [
      { path: 'preset', message: 'expected a string' },
    ]);
  }
  const presetName = opts.preset ?? (partial.preset as string | undefined);
  if (presetName !== undefined && !(PRESET_NAMES as readonly string[]).includes(presetName)) {
    throw new ConfigError(`preset: unknown preset ${JSON.stringify(presetName)}; allowed: ${PRESET_NAMES.join(', ')}`, [
      { path: 'preset', message: `allowed: ${PRESET_NAMES.join(', ')}` },
    ]);
  }
  let merged: Plain = presetName ? deepMerge({}, PRESETS[presetName as PresetName]) : {};
  merged = deepMerge(merged, partial);
  if (presetName) merged.preset = presetName;
  for (const s of opts.sets ?? []) {
    const { path, value } = parseSet(s);
    // Own properties only: `toString` and friends are no field (nor a removed one) of any config.
    const why = Object.hasOwn(REMOVED_FIELDS, path.join('.')) ? REMOVED_FIELDS[path.join('.')] : undefined;
    if (why) throw new ConfigError(`--set ${path.join('.')}: ${why}`, [{ path: path.join('.'), message: why }]);
    if (!knownPath(path)) {
      const { at, fields } = fieldsNear(path);
      const allowed = `allowed ${at ? `fields of ${at}` : 'sections and fields'}: ${fields.join(', ')}`;
      throw new ConfigError(`--set ${path.join('.')}: no such config field; ${allowed} (see \`polca config schema\`)`, [
        { path: path.join('.'), message: `no such field; ${allowed}` },
      ]);
    }
    merged = setAt(merged, path, value);
  }
  return validateConfig(withoutNegativeZero(merged) as ConfigInput);
}

/** −0 read as 0 everywhere (a JSON text may spell it; keys already read it so, the resolved config should too). */
function withoutNegativeZero(v: unknown): unknown {
  if (Object.is(v, -0)) return 0;
  if (Array.isArray(v)) return v.map(withoutNegativeZero);
  if (isPlain(v)) {
    const out: Plain = {};
    for (const [k, x] of Object.entries(v))
      Object.defineProperty(out, k, { value: withoutNegativeZero(x), enumerable: true, writable: true, configurable: true });
    return out;
  }
  return v;
}

/** Fields that are absent from the defaults (optional, no default). */
const OPTIONAL_PATHS = [
  'preset',
  'task',
  'task.name',
  'basis.kind',
  'cluster.minSamples',
  'train.denseCheckpoints',
  'train.denseCheckpoints.every',
  'train.denseCheckpoints.until',
  'ablate',
  'ablate.vectors',
  'ablate.random',
  'ablate.seed',
  'ablate.from',
];

/** True when `path` names a field of the schema (checked against the defaults' shape). */
export function knownPath(path: string[]): boolean {
  // A task's settings are its own schema's to judge (core/tasks/*.ts), once `task.name` picks it.
  if (path[0] === 'task') return true;
  let cur: unknown = configSchema.parse({});
  for (const p of path) {
    if (!isPlain(cur) || !Object.hasOwn(cur, p)) {
      // optional fields without defaults
      return OPTIONAL_PATHS.includes(path.join('.'));
    }
    cur = cur[p];
  }
  return true;
}

/**
 * The fields allowed where `path` stops naming one: the deepest section of the schema that the
 * path reaches (`at`, '' for the top level) and that section's field names.
 */
export function fieldsNear(path: string[]): { at: string; fields: string[] } {
  let cur: unknown = configSchema.parse({});
  const reached: string[] = [];
  for (const p of path.slice(0, -1)) {
    if (!isPlain(cur) || !Object.hasOwn(cur, p) || !isPlain(cur[p])) break;
    cur = cur[p];
    reached.push(p);
  }
  // An optional section without defaults (`ablate`): its fields are the optional paths under it.
  const section = path.slice(0, reached.length + 1).join('.');
  if (path.length > reached.length + 1 && OPTIONAL_PATHS.includes(section)) {
    const under = OPTIONAL_PATHS.filter((o) => o.startsWith(`${section}.`) && o.split('.').length === reached.length + 2);
    return { at: section, fields: under.map((o) => o.split('.').pop()!).sort() };
  }
  const at = reached.join('.');
  const extra = OPTIONAL_PATHS.filter((o) => o.split('.').length === reached.length + 1 && o.startsWith(at ? `${at}.` : '')).map(
    (o) => o.split('.').pop()!,
  );
  const fields = [...new Set([...Object.keys(cur as Plain), ...extra])].sort();
  return { at, fields };
}

/** JSON Schema of the config, for editors. */
export function configJsonSchema(): unknown {
  return z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' });
}

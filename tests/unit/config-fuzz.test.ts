/**
 * A seeded fuzz of config resolution: 1 500 configs, each a preset (or none) with one to three
 * random mutations — a field set to a value of a random kind, an unknown key, a forbidden key
 * (`__proto__`, `constructor`, `prototype`) at a random depth, nesting up to 100 000 levels, a
 * section replaced by a scalar, `--set` expressions with any of these. The same seed gives the
 * same cases. Every outcome is either a valid config whose mutated fields hold the values given,
 * or a ConfigError without a stack trace that names a mutated field. Then a few of the worst
 * cases through the `polca config show` command: exit code 1, one clean line, no stack trace.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, configSchema, PRESET_NAMES, resolveConfig, validateConfig } from '../../config/index.ts';
import { intOption } from '../../cli/common.ts';
import { root } from '../../bench/experiment.ts';

/** mulberry32: a small seeded generator, so the cases are the same on every run. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)],
  };
}
type Rng = ReturnType<typeof rng>;

/** Every leaf field of the config, as dotted paths, from the defaults' shape. */
const defaults = configSchema.parse({}) as Record<string, unknown>;
const LEAVES: string[] = [];
for (const [section, v] of Object.entries(defaults)) {
  if (v && typeof v === 'object' && !Array.isArray(v)) for (const f of Object.keys(v)) LEAVES.push(`${section}.${f}`);
  else LEAVES.push(section);
}
LEAVES.push('cluster.minSamples', 'preset');
const SECTIONS = Object.keys(defaults).filter((k) => typeof defaults[k] === 'object');
const FORBIDDEN = ['__proto__', 'constructor', 'prototype'];

function randomValue(r: Rng): unknown {
  switch (r.int(16)) {
    case 0:
      return r.int(10);
    case 1:
      return -1 - r.int(1000);
    case 2:
      return r.next() * 10;
    case 3:
      return 10 ** (3 + r.int(20));
    case 4:
      return r.pick([0, -0, 1e-300, 2 ** 53 + 1, Number.MAX_VALUE, 0.5, 1.5]);
    case 5:
      return r.pick(['', 'x', 'tiny', 'paper', 'cosine', 'wasm', 'eom', 'NaN', '1e3', '💥', 'a'.repeat(5000)]);
    case 6:
      return r.next() < 0.5;
    case 7:
      return null;
    case 8:
      return [];
    case 9:
      return r.pick([['loss'], ['polca', 'loss'], ['nope'], [1, 2], [null]]);
    case 10:
      return {};
    case 11:
      return { x: 1 };
    case 12:
      return r.pick([3, 5, 7, 25, 64, 100, 1000, 2000]);
    case 13:
      return r.pick([1, 2, 4, 8, 16, 32, 512]);
    case 14:
      return r.pick([1e-3, 1e-8, 0.9, 0.98, 3e-3]);
    default:
      return r.pick(['constant', 'cpu', 'leaf', 'zscore-token', 'exact-curvature', 'path', 'auto']);
  }
}

/** A JSON text nested `depth` levels (built iteratively, parsed by JSON.parse: no recursion here). */
function deepJson(depth: number, key: string): string {
  return `${`{"${key}":`.repeat(depth)}1${'}'.repeat(depth)}`;
}

interface Case {
  config: Record<string, unknown>;
  preset?: string;
  sets: string[];
  /** Field paths (or key names) a rejection may name. */
  names: string[];
  /** Fields whose value, when the config is accepted, must be the one given. */
  expect: [string, unknown][];
}

function setDotted(obj: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let cur = obj;
  for (const p of parts.slice(0, -1)) {
    if (typeof cur[p] !== 'object' || cur[p] === null || Array.isArray(cur[p])) cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[parts[parts.length - 1]] = value;
}

function makeCase(r: Rng): Case {
  const c: Case = { config: {}, sets: [], names: [], expect: [] };
  if (r.next() < 0.7) c.preset = r.pick(PRESET_NAMES);
  const n = 1 + r.int(3);
  for (let i = 0; i < n; i++) {
    const kind = r.int(10);
    if (kind <= 3) {
      const path = r.pick(LEAVES);
      const v = randomValue(r);
      setDotted(c.config, path, v);
      c.names.push(path);
      c.expect.push([path, v]);
    } else if (kind === 4) {
      const path = r.pick(LEAVES);
      const v = randomValue(r);
      c.sets.push(`${path}=${JSON.stringify(v)}`);
      c.names.push(path);
      c.expect.push([path, v]);
    } else if (kind === 5) {
      // an unknown key at the root or in a section
      const name = `unknown${r.int(100)}`;
      const at = r.next() < 0.5 ? name : `${r.pick(SECTIONS)}.${name}`;
      setDotted(c.config, at, randomValue(r));
      c.names.push(name);
    } else if (kind === 6) {
      // a forbidden key, as a JSON text would carry it (an own property named __proto__)
      const key = r.pick(FORBIDDEN);
      const inner = JSON.parse(`{"${key}": ${JSON.stringify({ seed: 12345, preset: 'tiny', train: { lr: 5 } })}}`);
      // defineProperty, not assignment: assigning `__proto__` would set the prototype instead
      const own = { value: Object.getOwnPropertyDescriptor(inner, key)!.value, enumerable: true, configurable: true, writable: true };
      if (r.next() < 0.5) Object.defineProperty(c.config, key, own);
      else {
        const section = r.pick(SECTIONS);
        c.config[section] = { ...((c.config[section] as object) ?? {}) };
        Object.defineProperty(c.config[section], key, own);
      }
      c.names.push(key);
    } else if (kind === 7) {
      const depth = r.pick([9, 10, 50, 1000, 100_000]);
      const section = r.pick(SECTIONS);
      c.config[section] = JSON.parse(deepJson(depth, 'a'));
      c.names.push(section);
    } else if (kind === 8) {
      const key = r.pick(FORBIDDEN);
      c.sets.push(r.next() < 0.5 ? `${key}.seed=1` : `${r.pick(SECTIONS)}.${key}=1`);
      c.names.push(key);
    } else {
      const section = r.pick(SECTIONS);
      const v = r.pick([1, 'x', null, true, []]);
      c.config[section] = v;
      c.names.push(section);
    }
  }
  return c;
}

function valueAt(obj: unknown, path: string): unknown {
  let cur = obj;
  for (const p of path.split('.')) cur = cur && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined;
  return cur;
}

const CASES = 1500;

test(`config fuzz: ${CASES} seeded cases, no crash, no stack trace, every rejection names a field`, () => {
  const r = rng(20261130);
  let accepted = 0;
  let rejected = 0;
  const digest: string[] = [];
  for (let i = 0; i < CASES; i++) {
    const c = makeCase(r);
    let out: ReturnType<typeof resolveConfig> | undefined;
    try {
      out = resolveConfig({ preset: c.preset, config: c.config, sets: c.sets });
    } catch (e) {
      const where = `case ${i}: ${c.names.join(', ')} → ${(e as Error)?.message}`;
      assert.ok(e instanceof ConfigError, `a crash, not a ConfigError: ${where}\n${(e as Error)?.stack}`);
      assert.doesNotMatch(e.message, /\n\s+at .+:\d+:\d+/, `a stack trace in the message: ${where}`);
      assert.ok(
        c.names.some((n) => e.message.includes(n)),
        `the rejection names none of the mutated fields: ${where}`,
      );
      assert.ok(e.message.length < 20_000, `a bounded message: case ${i}`);
      rejected++;
      digest.push(`x${e.message.length}`);
      continue;
    }
    accepted++;
    assert.equal(Object.getPrototypeOf(out), Object.prototype, `case ${i}: a plain object`);
    assert.deepEqual(validateConfig(out), out, `case ${i}: the result validates again`);
    for (const [path, v] of c.expect) {
      // the last write of a path wins; only check paths written once
      if (c.expect.filter(([p]) => p === path).length > 1 || c.names.some((n) => n !== path && path.startsWith(`${n}.`))) continue;
      if (path === 'preset') continue;
      assert.deepEqual(valueAt(out, path), Object.is(v, -0) ? 0 : v, `case ${i}: ${path} holds the value given`);
    }
    digest.push(`ok${out.seed}`);
  }
  assert.ok(accepted > 25 && rejected > 500, `a mix of outcomes (accepted ${accepted}, rejected ${rejected})`);
  // Deterministic: the same seed gives the same cases and outcomes.
  const again = rng(20261130);
  for (let i = 0; i < 50; i++) {
    const c = makeCase(again);
    let o: string;
    try {
      o = `ok${resolveConfig({ preset: c.preset, config: c.config, sets: c.sets }).seed}`;
    } catch (e) {
      o = `x${(e as Error).message.length}`;
    }
    assert.equal(o, digest[i], `case ${i} again`);
  }
});

test('numeric command-line options are checked like config fields', () => {
  for (const bad of ['-1', '1.5', 'x', '', '1e3', '0x10', '99999999999']) {
    assert.throws(
      () => intOption('--workers', bad, 0, 256),
      (e: unknown) => e instanceof ConfigError && e.message.startsWith('--workers:') && e.message.includes('from 0 to 256'),
    );
  }
  assert.equal(intOption('--workers', '0', 0, 256), 0);
  assert.equal(intOption('--parallel', '4', 1, 1024), 4);
  assert.throws(() => intOption('--parallel', '0', 1, 1024), /--parallel: "0" is not allowed; allowed: a whole number from 1 to 1024/);
});

test('the worst cases through `polca config show` and `polca run`: exit 1, a clean message naming the field', () => {
  const dir = mkdtempSync(join(tmpdir(), 'polca-config-fuzz-'));
  try {
    const cases: [string, string, string[]][] = [
      ['proto-seed.json', '{"__proto__": {"seed": 12345}}', ['__proto__']],
      ['proto-preset.json', '{"__proto__": {"preset": "tiny"}}', ['__proto__']],
      ['deep.json', deepJson(100_000, 'a'), ['nested']],
      ['k-maxiter.json', '{"basis": {"k": 64, "maxIter": 2}}', ['basis.maxIter', 'basis.k']],
    ];
    for (const [name, text, fragments] of cases) {
      writeFileSync(join(dir, name), text);
      const r = spawnSync(process.execPath, [join(root, 'bin', 'polca.mjs'), 'config', 'show', '--config', join(dir, name)], {
        encoding: 'utf8',
        env: { ...process.env, POLCA_HOME: dir },
        timeout: 60_000,
      });
      assert.equal(r.status, 1, `${name}: ${r.stderr}`);
      assert.equal(r.stdout, '', name);
      for (const f of fragments) assert.ok(r.stderr.includes(f), `${name}: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /, `${name}: no stack trace`);
    }
    // a bad numeric option stops `polca run --detach` before it connects to anything
    const r = spawnSync(process.execPath, [join(root, 'bin', 'polca.mjs'), 'run', '--preset', 'tiny', '--detach', '--workers', '-1'], {
      encoding: 'utf8',
      env: { ...process.env, POLCA_HOME: dir, TEMPORAL_ADDRESS: '127.0.0.1:1' },
      timeout: 60_000,
    });
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /--workers: "-1" is not allowed; allowed: a whole number from 0 to 256/);
    assert.equal(r.stdout, '');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

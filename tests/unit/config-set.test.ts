/**
 * `--set path=value` reaches every field the config's JSON Schema (`polca config schema`) lists,
 * optional sections and fields without defaults included, and puts the value there; fields that
 * come only together (train.denseCheckpoints) say so when one is given alone. The leaf paths are
 * read from the JSON Schema the command prints, independently of the zod walk that resolves them.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { root } from '../../bench/experiment.ts';
import { configJsonSchema, resolveConfig } from '../../config/index.ts';

interface JsonNode {
  type?: string | string[];
  properties?: Record<string, JsonNode>;
  required?: string[];
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  items?: JsonNode;
  anyOf?: JsonNode[];
  oneOf?: JsonNode[];
}

/** Leaf fields of a JSON Schema object (not descending into `task`, whose fields depend on task.name). */
function leaves(node: JsonNode, path: string[] = []): { path: string; node: JsonNode; parent: JsonNode }[] {
  const out: { path: string; node: JsonNode; parent: JsonNode }[] = [];
  for (const [k, v] of Object.entries(node.properties ?? {})) {
    if (path.length === 0 && k === 'task') continue;
    if (v.properties) out.push(...leaves(v, [...path, k]));
    else out.push({ path: [...path, k].join('.'), node: v, parent: node });
  }
  return out;
}

/** A value the field allows that differs from its default where it can. */
function valueFor(n: JsonNode): unknown {
  if (n.enum) return n.enum[n.enum.length - 1];
  if (n.type === 'boolean') return n.default === undefined ? true : !n.default;
  if (n.type === 'array') return n.default ?? [n.items?.enum?.[0]];
  // twice the default: divisors and multiples among the fields (model.nHeads | model.dModel, basis.every | train.iterations) still hold
  if (n.type === 'integer') return typeof n.default === 'number' && n.default > 0 ? 2 * n.default : 1 + (n.minimum ?? 0);
  if (n.type === 'number') return typeof n.default === 'number' ? n.default / 2 : 0.5;
  throw new Error(`no value for ${JSON.stringify(n)}`);
}

/**
 * Fields whose allowed values depend on other fields (config/schema.ts: an ablation names exactly
 * one of its directions' sources and starts at a checkpoint): a value that holds, and the fields
 * it needs beside it (the defaults' checkpoints are every 5 iterations up to 2000).
 */
const DEPENDENT: Record<string, { value: unknown; with: string[] }> = {
  'ablate.vectors': { value: [0], with: ['ablate.from=100'] },
  'ablate.random': { value: 1, with: ['ablate.from=100'] },
  'ablate.seed': { value: 1, with: ['ablate.random=1', 'ablate.from=100'] },
  'ablate.from': { value: 100, with: ['ablate.random=1'] },
};

const valueAt = (obj: unknown, path: string) =>
  path.split('.').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);

const schema = configJsonSchema() as JsonNode;
const all = leaves(schema);

test('the JSON Schema lists the optional fields and sections', () => {
  const paths = all.map((l) => l.path);
  for (const p of [
    'protocol.lag',
    'protocol.hiddenAfter',
    'protocol.tags.coverage',
    'protocol.tags.maxTags',
    'protocol.tags.shuffles',
    'train.denseCheckpoints.every',
    'train.denseCheckpoints.until',
    'cluster.minSamples',
    'basis.kind',
    'ablate.vectors',
    'ablate.random',
    'ablate.seed',
    'ablate.from',
  ])
    assert.ok(paths.includes(p), p);
  assert.ok(paths.length >= 45, `${paths.length} leaf paths`);
});

test('--set resolves every leaf path of the JSON Schema and puts the value there', () => {
  const failures: string[] = [];
  for (const leaf of all) {
    if (leaf.path === 'preset') continue; // informational: the preset is chosen with --preset (tested below)
    const dependent = DEPENDENT[leaf.path];
    const value = dependent ? dependent.value : valueFor(leaf.node);
    // A field of a section whose fields are all required comes with its siblings.
    const siblings = dependent
      ? dependent.with
      : (leaf.parent.required ?? [])
          .filter((s) => leaf.parent !== schema && s !== leaf.path.split('.').pop())
          .map((s) => `${leaf.path.split('.').slice(0, -1).join('.')}.${s}=${JSON.stringify(valueFor(leaf.parent.properties![s]))}`);
    const sets = [`${leaf.path}=${JSON.stringify(value)}`, ...siblings];
    try {
      const c = resolveConfig({ sets });
      assert.deepEqual(valueAt(c, leaf.path), value, `${leaf.path} holds the value set`);
    } catch (e) {
      failures.push(`${sets.join(' ')}: ${(e as Error).message}`);
    }
  }
  assert.deepEqual(failures, []);
});

test('--set protocol.lag, protocol.hiddenAfter and protocol.tags.* through the command', () => {
  const r = spawnSync(
    process.execPath,
    [
      join(root, 'bin', 'polca.mjs'),
      'config',
      'show',
      '--preset',
      'tiny',
      '--set',
      'protocol.lag=5',
      'protocol.hiddenAfter=30',
      'protocol.tags.coverage=0.8',
      'protocol.tags.maxTags=3',
      'protocol.tags.shuffles=7',
    ],
    { encoding: 'utf8', env: { ...process.env, POLCA_BACKEND: 'wasm' } },
  );
  assert.equal(r.status, 0, r.stderr);
  const c = JSON.parse(r.stdout);
  assert.equal(c.protocol.lag, 5);
  assert.equal(c.protocol.hiddenAfter, 30);
  assert.deepEqual(c.protocol.tags, { coverage: 0.8, maxTags: 3, shuffles: 7 });
});

test('a field of train.denseCheckpoints alone: the error says both are needed together', () => {
  for (const [given, missing] of [
    ['every=1', 'until'],
    ['until=100', 'every'],
  ]) {
    assert.throws(
      () => resolveConfig({ sets: [`train.denseCheckpoints.${given}`] }),
      (e: Error) => {
        assert.match(e.message, new RegExp(`train\\.denseCheckpoints\\.${missing}: missing`));
        assert.match(e.message, /train\.denseCheckpoints\.every and train\.denseCheckpoints\.until are needed together/);
        return true;
      },
    );
  }
  // and both together resolve
  const c = resolveConfig({ sets: ['train.denseCheckpoints.every=1', 'train.denseCheckpoints.until=100'] });
  assert.deepEqual(c.train.denseCheckpoints, { every: 1, until: 100 });
});

test('a path the schema lacks is still refused, naming the section and its fields', () => {
  assert.throws(
    () => resolveConfig({ sets: ['protocol.tags.colour=1'] }),
    /--set protocol\.tags\.colour: no such config field; allowed fields of protocol\.tags: coverage, maxTags, shuffles/,
  );
  assert.throws(
    () => resolveConfig({ sets: ['protocol.lag.x=1'] }),
    /no such config field; allowed fields of protocol: .*hiddenAfter.*lag/,
  );
});

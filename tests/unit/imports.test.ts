/**
 * The repository's module graph: every relative import specifier of every .ts and .mjs file
 * (`import … from`, `export … from`, side-effect `import '…'`, dynamic `import('…')`, type-only
 * imports included) resolved to a file, as directed edges importer → imported. Asserts that the
 * graph has no cycle (a depth-first search that reports the first cycle it closes as a path) and
 * that no file outside tests/ imports a file under tests/ (product code and benchmarks stand on
 * their own; tests may import anything).
 *
 * Folders, in layers: every source file belongs to a folder (its top-level directory, except
 * activities/steps/, the steps, a folder of its own), and every folder has a layer in LAYERS. A
 * file may import files of its own folder and of folders in lower layers only: no folder imports
 * one above it or beside it, so the folder graph has no circle (checked as well, to name one).
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SKIP = new Set(['node_modules', '.git', '.polca', 'test-output', 'fixtures', 'results']);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    if (SKIP.has(name)) continue;
    const p = join(dir, name);
    const s = statSync(p, { throwIfNoEntry: false });
    if (!s) continue;
    if (s.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/**
 * Every module specifier of a source text, in order of kind: static imports and re-exports as
 * biome formats them (the statement starts a line; `from '…'` may close it lines later),
 * side-effect imports, and dynamic `import('…')` outside string and template literals (code in a
 * string is text, run elsewhere). Lines that start a comment (`//`, `/*`, ` * `) are skipped.
 */
export function importSpecifiers(src: string): string[] {
  const text = src
    .split('\n')
    .map((l) => (/^\s*(\/\/|\/\*|\*)/.test(l) ? '' : l))
    .join('\n');
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const m of text.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) out.push(m[1]);
  for (const line of text.split('\n'))
    for (const m of line.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)) {
      const before = line.slice(0, m.index);
      if (['`', "'", '"'].every((q) => before.split(q).length % 2 === 1)) out.push(m[1]);
    }
  return out;
}

/** The first cycle of a directed graph found by depth-first search, as a closed path, or null. */
export function findCycle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 finished
  const stack: string[] = [];
  const visit = (u: string): string[] | null => {
    state.set(u, 1);
    stack.push(u);
    for (const v of graph.get(u) ?? []) {
      const s = state.get(v);
      if (s === 1) return [...stack.slice(stack.indexOf(v)), v];
      if (s === undefined) {
        const c = visit(v);
        if (c) return c;
      }
    }
    stack.pop();
    state.set(u, 2);
    return null;
  };
  for (const u of [...graph.keys()].sort()) {
    if (state.has(u)) continue;
    const c = visit(u);
    if (c) return c;
  }
  return null;
}

/**
 * The layers, lowest first. artifacts: the store; core: numerics and tasks (no config, no
 * Temporal); config: the experiment config; pipeline: the step contract, plan and DAG
 * (deterministic: the workflow bundle imports it); report: the report from stored tables; steps:
 * the steps over the store and their registry; compute: the worker threads that run steps;
 * activities: the steps as Temporal activities and in process; workflows: Temporal workflows;
 * services: Temporal, MinIO and their connections; worker: the Temporal worker; cli: the command;
 * then the tools beside the product (bench, scripts, bin), then the tests.
 */
export const LAYERS: string[][] = [
  ['artifacts'],
  ['core'],
  ['config'],
  ['pipeline'],
  ['report'],
  ['steps'],
  ['compute'],
  ['activities'],
  ['workflows'],
  ['services'],
  ['worker'],
  ['cli'],
  ['bench', 'scripts', 'bin'],
  ['tests'],
];

/** The folder of a repository path: its top-level directory, with activities/steps/ a folder of its own. */
export function folderOf(path: string): string {
  if (path.startsWith('activities/steps/')) return 'steps';
  const i = path.indexOf('/');
  return i < 0 ? '.' : path.slice(0, i);
}

/** The folder graph of a module graph: folder → folders it imports (other than itself), with one example edge each. */
export function folderGraph(graph: Map<string, string[]>): Map<string, Map<string, string>> {
  const out = new Map<string, Map<string, string>>();
  for (const [from, deps] of graph) {
    const a = folderOf(from);
    if (!out.has(a)) out.set(a, new Map());
    for (const d of deps) {
      const b = folderOf(d);
      if (a !== b && !out.get(a)?.has(b)) out.get(a)?.set(b, `${from} → ${d}`);
    }
  }
  return out;
}

/**
 * Imports that break the layers: a folder importing one in its own layer or a higher one, as
 * `from → to (example edge)`; a folder without a layer is reported as such.
 */
export function layerViolations(folders: Map<string, Map<string, string>>, layers: string[][]): string[] {
  const layer = new Map(layers.flatMap((names, i) => names.map((n) => [n, i] as const)));
  const out: string[] = [];
  for (const [a, deps] of folders) {
    const la = layer.get(a);
    if (la === undefined) {
      out.push(`${a}: a folder without a layer`);
      continue;
    }
    for (const [b, example] of deps) {
      const lb = layer.get(b);
      if (lb === undefined) out.push(`${b}: a folder without a layer (${example})`);
      else if (lb >= la) out.push(`${a} → ${b} (${lb > la ? 'upward' : 'sideways'}: ${example})`);
    }
  }
  return out.sort();
}

function moduleGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(root)) {
    const from = relative(root, file).split(sep).join('/');
    const deps: string[] = [];
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (!spec.startsWith('.')) continue;
      const target = resolve(dirname(file), spec);
      assert.ok(existsSync(target), `${from} imports ${spec}, which does not exist`);
      deps.push(relative(root, target).split(sep).join('/'));
    }
    graph.set(from, deps);
  }
  return graph;
}

test('the import reader and the cycle finder, on hand-written sources and graphs', () => {
  const src = [
    "import * as tf from '@tensorflow/tfjs';",
    "import { a, type B } from './a.ts';",
    'import type {',
    '  C,',
    "} from '../c.ts';",
    "export { d } from './d.ts';",
    "import './side.ts';",
    "const e = await import('./e.ts');",
    "// import { no } from './comment.ts';",
    "/* export { no } from './block.ts'; */",
    "const url = 'http://x'; // from './trailing.ts'",
    "const code = `await import('./in-a-template.ts')`;",
    ' * import { no } from "./doc-comment.ts";',
  ].join('\n');
  assert.deepEqual(importSpecifiers(src).sort(), ['../c.ts', './a.ts', './d.ts', './e.ts', './side.ts', '@tensorflow/tfjs'].sort());
  const acyclic = new Map([
    ['a', ['b', 'c']],
    ['b', ['c']],
    ['c', []],
  ]);
  assert.equal(findCycle(acyclic), null);
  const threeCycle = new Map([
    ['model', ['layout']],
    ['backward', ['model']],
    ['jet', ['model']],
    ['layout', ['jet']],
  ]);
  assert.deepEqual(findCycle(threeCycle), ['model', 'layout', 'jet', 'model']);
  assert.deepEqual(findCycle(new Map([['self', ['self']]])), ['self', 'self']);
});

test('no import cycle among the repository’s modules', () => {
  const graph = moduleGraph();
  assert.ok(graph.has('core/model/model.ts') && graph.has('core/model/token-loss-model.ts'), 'the scan found the core modules');
  assert.ok((graph.get('core/model/backward.ts') ?? []).includes('core/model/model.ts'), 'the scan read core/model/backward.ts’s imports');
  const cycle = findCycle(graph);
  assert.equal(cycle, null, `import cycle: ${cycle?.join(' → ')}`);
});

test('the folder layer checker, on a hand-written graph', () => {
  const graph = new Map([
    ['core/model/model.ts', ['core/model/layout.ts']],
    ['activities/steps/polca.ts', ['core/model/model.ts', 'pipeline/plan.ts']],
    ['pipeline/plan.ts', ['activities/steps/io.ts']],
    ['activities/local.ts', ['activities/steps/polca.ts', 'tests/helpers/x.ts']],
    ['odd/x.ts', []],
  ]);
  assert.equal(folderOf('activities/steps/polca.ts'), 'steps');
  assert.equal(folderOf('activities/local.ts'), 'activities');
  assert.equal(folderOf('README.ts'), '.');
  const layers = [['core'], ['pipeline'], ['steps'], ['activities'], ['tests']];
  assert.deepEqual(layerViolations(folderGraph(graph), layers), [
    'activities → tests (upward: activities/local.ts → tests/helpers/x.ts)',
    'odd: a folder without a layer',
    'pipeline → steps (upward: pipeline/plan.ts → activities/steps/io.ts)',
  ]);
  assert.deepEqual(layerViolations(folderGraph(graph), [['core'], ['pipeline', 'steps'], ['tests'], ['activities'], ['odd']]), [
    'pipeline → steps (sideways: pipeline/plan.ts → activities/steps/io.ts)',
    'steps → pipeline (sideways: activities/steps/polca.ts → pipeline/plan.ts)',
  ]);
  const circle = new Map([...folderGraph(graph)].map(([a, deps]) => [a, [...deps.keys()]]));
  assert.deepEqual(findCycle(circle), ['steps', 'pipeline', 'steps']);
});

test('no folder imports one above or beside it, and the folder graph has no circle', () => {
  const folders = folderGraph(moduleGraph());
  for (const f of ['artifacts', 'core', 'config', 'pipeline', 'steps', 'compute', 'activities', 'workflows', 'services', 'worker', 'cli'])
    assert.ok(folders.has(f), `the scan found the folder ${f}`);
  assert.deepEqual(layerViolations(folders, LAYERS), []);
  const cycle = findCycle(new Map([...folders].map(([a, deps]) => [a, [...deps.keys()]])));
  assert.equal(cycle, null, `folder circle: ${cycle?.join(' → ')}`);
});

test('the store owns its layout: no product code outside artifacts/ reaches past it to its backend', () => {
  const offenders: string[] = [];
  for (const file of sourceFiles(root)) {
    const path = relative(root, file).split(sep).join('/');
    if (path.startsWith('artifacts/') || path.startsWith('tests/')) continue;
    const lines = readFileSync(file, 'utf8').split('\n');
    lines.forEach((l, i) => {
      if (/\.backend\.|\b(locks|scratch)\/\$\{/.test(l) && !/^\s*(\/\/|\/\*|\*)/.test(l)) offenders.push(`${path}:${i + 1}`);
    });
  }
  assert.ok(
    sourceFiles(root).some((f) => f.endsWith(join('artifacts', 'store.ts'))),
    'the scan found the store',
  );
  assert.deepEqual(offenders, []);
});

test('each task folder reads alone: it imports no other task, nor the task registries', () => {
  const graph = moduleGraph();
  const tasks = ['arithmetic', 'english'];
  for (const t of tasks)
    assert.ok(
      [...graph.keys()].some((f) => f.startsWith(`core/tasks/${t}/`)),
      `the scan found core/tasks/${t}/`,
    );
  const offenders: string[] = [];
  for (const [from, deps] of graph) {
    const own = tasks.find((t) => from.startsWith(`core/tasks/${t}/`));
    if (!own) continue;
    for (const d of deps)
      if (
        tasks.some((t) => t !== own && d.startsWith(`core/tasks/${t}/`)) ||
        d === 'core/tasks/index.ts' ||
        d === 'core/tasks/specs.ts' ||
        d === 'core/data.ts'
      )
        offenders.push(`${from} → ${d}`);
  }
  assert.deepEqual(offenders, []);
});

test('nothing outside tests/ imports a file under tests/', () => {
  const offenders: string[] = [];
  for (const [from, deps] of moduleGraph()) {
    if (from.startsWith('tests/')) continue;
    for (const d of deps) if (d.startsWith('tests/')) offenders.push(`${from} → ${d}`);
  }
  assert.deepEqual(offenders, []);
});

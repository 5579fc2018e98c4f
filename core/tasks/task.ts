/**
 * What a task supplies to the pipeline (one module per task under core/tasks/, registered in
 * core/tasks/index.ts):
 *  - its sequence shape: vocabulary size V, context length L (tokens fed to the model per
 *    sequence) and T, the number of evaluated next-token predictions per sequence. The evaluated
 *    positions are always the last T of the L positions (arithmetic: the 4 answer digits at
 *    positions 7–10 of 11; language modelling: T = L, every next-token prediction), so the model's
 *    last block computes queries only there (core/model/model.ts `queryPositions`);
 *  - its data, a pure function of (seed, data sizes, task settings): the evaluation set X (whose
 *    n·T tokens POLCA decomposes), the Hessian sample S, and the training batch of every step;
 *  - per-token label columns for reading clusters (tokens.parquet), and the names of those that
 *    are skills;
 *  - a config schema of its own (`task` in the config, selected by `task.name`).
 * Sequences are encoded as token ids, row-major: inputs [n·L] and targets [n·T], target t of
 * sequence i being the token that follows input position L − T + t.
 * A task module imports nothing of the config or the model: it is readable alone.
 */
import type { z } from 'zod';

export interface SequenceShape {
  /** Vocabulary size V: rows of the token embedding, columns of the unembedding. */
  vocabSize: number;
  /** Context length L: tokens fed to the model per sequence (rows of the position embedding). */
  contextLength: number;
  /** T: evaluated next-token predictions per sequence, at the last T positions of the context. */
  outputsPerSequence: number;
}

/** n encoded sequences: inputs [n·L] and targets [n·T] token ids, row-major. */
export interface Sequences {
  n: number;
  inputs: Int32Array;
  targets: Int32Array;
}

/** A column of a data table, as the Parquet writer takes it. */
export type TaskColumn =
  | { name: string; type: 'int32'; values: Int32Array }
  | { name: string; type: 'float64'; values: Float64Array }
  | { name: string; type: 'boolean'; values: boolean[] }
  | { name: string; type: 'utf8'; values: string[] };

/** The data of one run: evaluation set, Hessian sample, training stream and table columns. */
export interface TaskData {
  /** The evaluation set X. */
  eval: Sequences;
  /** The Hessian sample S (training sequences). */
  hessian: Sequences;
  /** The training batch of step `step`: a pure function of (seed, step), disjoint from X. */
  trainBatch(step: number, batchSize: number): Sequences;
  /** Columns of examples.parquet, one row per sequence, evaluation sequences then Hessian ones. */
  exampleColumns: TaskColumn[];
  /** Label columns of tokens.parquet, one row per evaluation token (n·T, token order). */
  tokenColumns: TaskColumn[];
}

/** What the task needs from the run's config. */
export interface TaskSettings<C> {
  seed: number;
  data: { evalSize: number; hessianSize: number };
  task: C;
}

/**
 * What the config needs of a task: its schema, shape and skill names. Pure (no file or library
 * access), so that config validation, and the workflow code that runs it, can import it.
 */
export interface TaskSpec<C extends { name: string } = { name: string }> {
  readonly name: C['name'];
  /** One line for `polca config schema` and errors. */
  readonly description: string;
  /** The schema of `task` when `task.name` is this task (its defaults filled in by parsing). */
  readonly configSchema: z.ZodType<C>;
  /** True when `task` equals the default spelled out (it is then dropped from the config, and from keys). */
  isDefault(config: C): boolean;
  shape(config: C): SequenceShape;
  /** Columns of tokens.parquet that are skills (read against clusters), integer-coded. */
  readonly skillColumns: readonly string[];
  /** What the pipeline reads of the task's clusterings besides its skills over all tokens (core/tasks/specs.ts `taskReads`). */
  readonly reads: TaskReadings;
}

/**
 * The readings a task asks for, each backed by its label columns (checked in
 * tests/unit/task-shapes.test.ts). The one place the pipeline, the steps and the report learn
 * what a task reads (core/tasks/specs.ts `taskReads`).
 */
export interface TaskReadings {
  /** Skills read within each digit place too (the cluster step's per-scope table; digit, carry and value columns). */
  readonly digitPlaces: boolean;
  /** The published protocol's carry reading of each clustering (digit and carry columns). */
  readonly carry: boolean;
  /** Part-of-speech readings of the protocol's and polca's clusterings (the `tags` steps and the tag report; the tag columns). */
  readonly tags: boolean;
}

/** A task: its spec and its data. */
export interface Task<C extends { name: string } = { name: string }> extends TaskSpec<C> {
  /**
   * Checks what the schema cannot (a corpus file: present, readable, non-empty, large enough for
   * the data sizes) and returns the config to submit (a corpus's content hash filled in, so that it
   * keys the data). Called before a run starts; absent for tasks with nothing outside the config.
   */
  resolve?(config: C, data: { evalSize: number; hessianSize: number }): Promise<C>;
  makeData(settings: TaskSettings<C>): TaskData | Promise<TaskData>;
}

/** The evaluation tokens of a run: evaluation sequences × evaluated positions per sequence. */
export const evalTokens = (shape: SequenceShape, evalSize: number): number => evalSize * shape.outputsPerSequence;

/** Sequences [start, start + count) of `s`. */
export function sliceSequences(shape: SequenceShape, s: Sequences, start: number, count: number): Sequences {
  const L = shape.contextLength;
  const T = shape.outputsPerSequence;
  if (start < 0 || count < 0 || start + count > s.n) throw new Error(`sliceSequences: [${start}, ${start + count}) outside 0 … ${s.n}`);
  return { n: count, inputs: s.inputs.slice(start * L, (start + count) * L), targets: s.targets.slice(start * T, (start + count) * T) };
}

/** Checks that sequences fit a shape: lengths and token ids in 0 … V − 1. */
export function checkSequences(shape: SequenceShape, s: Sequences): void {
  const { vocabSize: V, contextLength: L, outputsPerSequence: T } = shape;
  if (!(T >= 1 && T <= L)) throw new Error(`sequence shape: ${T} evaluated positions for a context of ${L}`);
  if (s.inputs.length !== s.n * L) throw new Error(`sequences: ${s.inputs.length} input tokens for ${s.n} sequences of ${L}`);
  if (s.targets.length !== s.n * T) throw new Error(`sequences: ${s.targets.length} targets for ${s.n} sequences of ${T}`);
  for (const a of [s.inputs, s.targets])
    for (let i = 0; i < a.length; i++)
      if (!(a[i] >= 0 && a[i] < V)) throw new Error(`sequences: token ${a[i]} outside the vocabulary 0 … ${V - 1}`);
}

/**
 * A label column as integer codes for reading clusters (core/cluster/skills.ts): integers as they are,
 * booleans as 0/1, strings as their rank among the column's distinct values (code-unit order).
 */
export function labelCodes(name: string, values: ArrayLike<number> | ArrayLike<boolean> | ArrayLike<string>): Int32Array {
  const n = values.length;
  const out = new Int32Array(n);
  if (n === 0) return out;
  const first = values[0];
  if (typeof first === 'boolean') for (let i = 0; i < n; i++) out[i] = values[i] ? 1 : 0;
  else if (typeof first === 'string') {
    const sorted = [...new Set(Array.from(values as ArrayLike<string>))].sort();
    const code = new Map(sorted.map((v, i) => [v, i]));
    for (let i = 0; i < n; i++) out[i] = code.get((values as ArrayLike<string>)[i]) as number;
  } else
    for (let i = 0; i < n; i++) {
      const v = (values as ArrayLike<number>)[i];
      if (!Number.isInteger(v)) throw new Error(`label column ${name}: value ${v} at row ${i} is not an integer`);
      out[i] = v;
    }
  return out;
}

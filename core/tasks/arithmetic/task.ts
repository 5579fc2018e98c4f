/**
 * The arithmetic task (Chen et al. 2024b, "skill-it" addition): two 3-digit operands 000–999,
 * the sum written as 4 digits, thousands first.
 *
 * Sequence of one example `a + b`:
 *   position: 0  1  2  3  4  5  6  7  8  9  10 11
 *   token:    a2 a1 a0 +  b2 b1 b0 =  s3 s2 s1 s0
 * The model reads positions 0..10 and predicts the next token; the 4 output tokens are the
 * predictions at positions 7..10 of s3, s2, s1, s0 (teacher forcing). Output token `digit`
 * 0 = thousands (s3) … 3 = ones (s0). As a task (core/tasks/task.ts): V = 12, L = 11, T = 4.
 * The task has no settings of its own (`task: { name: 'arithmetic' }`, the default).
 */
import { z } from 'zod';
import { randInt, STREAMS } from '../../rng.ts';
import type { Sequences, SequenceShape, Task, TaskData, TaskSettings } from '../task.ts';

export const PLUS = 10;
export const EQUALS = 11;
export const VOCAB_SIZE = 12;
/** Tokens fed to the model (the last output digit is never an input). */
export const INPUT_LEN = 11;
/** Positions whose next-token predictions are the 4 output digits. */
export const OUTPUT_POSITIONS = [7, 8, 9, 10] as const;
export const TOKENS_PER_EXAMPLE = 4;
export const NUM_PAIRS = 1_000_000;
/** The task's sequence shape: V = 12, L = 11, T = 4. */
export const ARITHMETIC_SHAPE: SequenceShape = { vocabSize: VOCAB_SIZE, contextLength: INPUT_LEN, outputsPerSequence: TOKENS_PER_EXAMPLE };

/** Skills of one output token of the arithmetic task (method.md, "Skills of the arithmetic task"). */
export interface TokenSkills {
  /** 0 = thousands, 1 = hundreds, 2 = tens, 3 = ones. */
  digit: number;
  /** Whether a carry flows into this digit from the digit to its right. */
  carry: boolean;
  /** Target digit 0–9. */
  value: number;
}

export interface Example {
  a: number;
  b: number;
}

export const pairIndex = (e: Example): number => e.a * 1000 + e.b;
export const pairOf = (i: number): Example => ({ a: Math.floor(i / 1000), b: i % 1000 });

/** The 12 tokens of an example. */
export function sequenceOf({ a, b }: Example): number[] {
  const s = a + b;
  return [
    Math.floor(a / 100) % 10,
    Math.floor(a / 10) % 10,
    a % 10,
    PLUS,
    Math.floor(b / 100) % 10,
    Math.floor(b / 10) % 10,
    b % 10,
    EQUALS,
    Math.floor(s / 1000) % 10,
    Math.floor(s / 100) % 10,
    Math.floor(s / 10) % 10,
    s % 10,
  ];
}

/**
 * Skills of the 4 output tokens: digit (0 = thousands … 3 = ones), carry into the digit from the
 * digit to its right (the thousands digit's carry is the carry out of the hundreds; the ones digit
 * never receives one), and the target value.
 */
export function skillsOf({ a, b }: Example): TokenSkills[] {
  const a0 = a % 10,
    a1 = Math.floor(a / 10) % 10,
    a2 = Math.floor(a / 100);
  const b0 = b % 10,
    b1 = Math.floor(b / 10) % 10,
    b2 = Math.floor(b / 100);
  const c1 = a0 + b0 >= 10 ? 1 : 0; // carry into tens
  const c2 = a1 + b1 + c1 >= 10 ? 1 : 0; // carry into hundreds
  const c3 = a2 + b2 + c2 >= 10 ? 1 : 0; // carry into thousands
  const s = a + b;
  return [
    { digit: 0, carry: c3 === 1, value: Math.floor(s / 1000) % 10 },
    { digit: 1, carry: c2 === 1, value: Math.floor(s / 100) % 10 },
    { digit: 2, carry: c1 === 1, value: Math.floor(s / 10) % 10 },
    { digit: 3, carry: false, value: s % 10 },
  ];
}

/** Inputs [n, INPUT_LEN] and targets [n, 4] as Int32Arrays, row-major. */
export function encodeExamples(examples: Example[]): { inputs: Int32Array; targets: Int32Array } {
  const inputs = new Int32Array(examples.length * INPUT_LEN);
  const targets = new Int32Array(examples.length * TOKENS_PER_EXAMPLE);
  examples.forEach((e, i) => {
    const seq = sequenceOf(e);
    for (let p = 0; p < INPUT_LEN; p++) inputs[i * INPUT_LEN + p] = seq[p];
    for (let k = 0; k < TOKENS_PER_EXAMPLE; k++) targets[i * TOKENS_PER_EXAMPLE + k] = seq[8 + k];
  });
  return { inputs, targets };
}

/** `count` distinct pairs drawn by a seeded counter-based RNG, avoiding `exclude`. */
function samplePairs(count: number, seed: number, stream: number, exclude: Set<number>): number[] {
  const chosen = new Set<number>();
  const out: number[] = [];
  let counter = 0;
  while (out.length < count) {
    const i = randInt(NUM_PAIRS, seed, stream, counter++);
    if (exclude.has(i) || chosen.has(i)) continue;
    chosen.add(i);
    out.push(i);
  }
  return out;
}

export interface DataSplits {
  /** The evaluation set X (its 4·n tokens are decomposed by POLCA). */
  evalExamples: Example[];
  /** The Hessian sample S: training examples. */
  hessianExamples: Example[];
  /** Pair indices of the evaluation set: excluded from the training stream. */
  evalSet: Set<number>;
}

export function makeSplits(config: { seed: number; data: { evalSize: number; hessianSize: number } }): DataSplits {
  const evalIdx = samplePairs(config.data.evalSize, config.seed, STREAMS.evalSplit, new Set());
  const evalSet = new Set(evalIdx);
  const hessIdx = samplePairs(config.data.hessianSize, config.seed, STREAMS.hessianSplit, evalSet);
  return { evalExamples: evalIdx.map(pairOf), hessianExamples: hessIdx.map(pairOf), evalSet };
}

/**
 * The training batch of step `step`: batchSize pairs drawn uniformly (with replacement) from the
 * pairs outside the evaluation set. A pure function of (seed, step), so the data position of a
 * resumed run is its step number.
 */
export function trainBatch(seed: number, step: number, batchSize: number, evalSet: Set<number>): Example[] {
  const out: Example[] = [];
  for (let extra = 0; out.length < batchSize; extra++) {
    const p = randInt(NUM_PAIRS, seed, STREAMS.trainData, step, extra);
    if (evalSet.has(p)) continue;
    out.push(pairOf(p));
  }
  return out;
}

/** Rows of the `tokens` table (docs/artifacts.md). */
export function tokenRows(examples: Example[]) {
  const n = examples.length * TOKENS_PER_EXAMPLE;
  const rows = {
    token: new Int32Array(n),
    example: new Int32Array(n),
    a: new Int32Array(n),
    b: new Int32Array(n),
    digit: new Int32Array(n),
    carry: new Array<boolean>(n),
    value: new Int32Array(n),
  };
  examples.forEach((e, i) => {
    skillsOf(e).forEach((s, k) => {
      const t = i * TOKENS_PER_EXAMPLE + k;
      rows.token[t] = t;
      rows.example[t] = i;
      rows.a[t] = e.a;
      rows.b[t] = e.b;
      rows.digit[t] = s.digit;
      rows.carry[t] = s.carry;
      rows.value[t] = s.value;
    });
  });
  return rows;
}

export const arithmeticConfigSchema = z.strictObject({ name: z.literal('arithmetic') });
export type ArithmeticConfig = z.infer<typeof arithmeticConfigSchema>;

/** Encoded sequences of examples (`encodeExamples`). */
export function encodeSequences(examples: Example[]): Sequences {
  return { n: examples.length, ...encodeExamples(examples) };
}

export const arithmeticTask: Task<ArithmeticConfig> = {
  name: 'arithmetic',
  description: "3-digit addition, the sum as 4 digits (the paper's first experiment)",
  configSchema: arithmeticConfigSchema,
  isDefault: () => true,
  shape: () => ({ ...ARITHMETIC_SHAPE }),
  skillColumns: ['digit', 'carry', 'value'],
  reads: { digitPlaces: true, carry: true, tags: false },
  makeData(settings: TaskSettings<ArithmeticConfig>): TaskData {
    const { evalExamples, hessianExamples, evalSet } = makeSplits(settings);
    const all = [...evalExamples, ...hessianExamples];
    const t = tokenRows(evalExamples);
    return {
      eval: encodeSequences(evalExamples),
      hessian: encodeSequences(hessianExamples),
      trainBatch: (step, batchSize) => encodeSequences(trainBatch(settings.seed, step, batchSize, evalSet)),
      exampleColumns: [
        { name: 'a', type: 'int32', values: Int32Array.from(all, (e) => e.a) },
        { name: 'b', type: 'int32', values: Int32Array.from(all, (e) => e.b) },
        { name: 'sum', type: 'int32', values: Int32Array.from(all, (e) => e.a + e.b) },
      ],
      tokenColumns: [
        { name: 'a', type: 'int32', values: t.a },
        { name: 'b', type: 'int32', values: t.b },
        { name: 'digit', type: 'int32', values: t.digit },
        { name: 'carry', type: 'boolean', values: t.carry },
        { name: 'value', type: 'int32', values: t.value },
      ],
    };
  },
};

/**
 * English language modelling (the paper's second experiment): next-word prediction on English
 * text, every position of the context evaluated, clusters read against part-of-speech tags.
 *
 * Text → tokens (core/text/words.ts): wink-nlp's word tokens with their Universal POS tags, line
 * breaks as one NEWLINE token; a vocabulary of the V − 1 most frequent training words plus UNK.
 * Sequences: a window of L + 1 consecutive tokens w_s … w_{s+L} of the token stream gives inputs
 * w_s … w_{s+L−1} and targets w_{s+1} … w_{s+L} (T = L: every next-token prediction).
 *
 * Split, fixed by the text and not by the seed: the token stream is cut into blocks of
 * BLOCK_TOKENS = 1024 tokens; block b is evaluation text when b mod 10 = 9, training text
 * otherwise (10 % held out, spread over the whole corpus). A window never crosses a block, so no
 * training window contains an evaluation token. The vocabulary is counted on training blocks only.
 *  - evaluation set X: `data.evalSize` distinct windows drawn (by the seed) from the
 *    non-overlapping window slots of the evaluation blocks;
 *  - Hessian sample S: `data.hessianSize` distinct slots of the training blocks;
 *  - training batch of step t: `batchSize` windows at uniformly drawn starts in training blocks, a
 *    pure function of (seed, t).
 * Token labels (tokens.parquet, one row per evaluation target): the target id and word, `pos` (the
 * target's tag) and `pos_1`, `pos_2`, `pos_3` (the tags of the 1st, 2nd and 3rd token before it in
 * the text, NONE before the corpus start), `freq_band` (core/text/words.ts), `position` (0 … L − 1)
 * and `context` (the 8 words before the target and the target in ⟦ ⟧). Skills: pos, pos_1, pos_2,
 * pos_3, freq_band, position.
 */
import { type EnglishConfig, englishSpec } from './spec.ts';
import { builtinCorpus, type Corpus, readCorpusFile } from '../../text/corpus.ts';
import { buildVocabulary, encodeWords, frequencyBand, showWord, tagDocuments, type Vocabulary } from '../../text/words.ts';
import { randInt, STREAMS } from '../../rng.ts';
import type { Sequences, Task, TaskData, TaskSettings } from '../task.ts';

export const BLOCK_TOKENS = 1024;
export const EVAL_EVERY_BLOCK = 10;
export const CONTEXT_WORDS = 8;
export { TAG_POSITIONS } from './spec.ts';

/** The tokenised corpus: words, tags, ids, the split and the vocabulary. */
export interface EnglishText {
  corpus: Pick<Corpus, 'source' | 'sha256' | 'characters'>;
  words: string[];
  tags: string[];
  ids: Int32Array;
  vocab: Vocabulary;
  /** [start, end) of each block, in stream positions; evaluation blocks flagged. */
  blocks: { start: number; end: number; eval: boolean }[];
  /** Share of training tokens that are UNK. */
  unkShare: number;
}

function splitBlocks(n: number): EnglishText['blocks'] {
  const out: EnglishText['blocks'] = [];
  for (let b = 0, s = 0; s < n; b++, s += BLOCK_TOKENS)
    out.push({ start: s, end: Math.min(n, s + BLOCK_TOKENS), eval: b % EVAL_EVERY_BLOCK === EVAL_EVERY_BLOCK - 1 });
  return out;
}

/** Tokenise, tag and split a corpus (see the header). */
export function prepareText(corpus: Corpus, vocabSize: number, lowercase: boolean): EnglishText {
  const { words, tags } = tagDocuments(corpus.documents);
  const blocks = splitBlocks(words.length);
  const trainWords: string[] = [];
  for (const b of blocks) if (!b.eval) for (let i = b.start; i < b.end; i++) trainWords.push(words[i]);
  const vocab = buildVocabulary(trainWords, vocabSize, lowercase);
  const ids = encodeWords(words, vocab);
  let unk = 0;
  let train = 0;
  for (const b of blocks)
    if (!b.eval)
      for (let i = b.start; i < b.end; i++) {
        train++;
        if (ids[i] === 0) unk++;
      }
  return {
    corpus: { source: corpus.source, sha256: corpus.sha256, characters: corpus.characters },
    words,
    tags,
    ids,
    vocab,
    blocks,
    unkShare: train ? unk / train : 0,
  };
}

// One tokenised text per corpus and vocabulary in a process: steps of one run share it.
const cache = new Map<string, Promise<EnglishText>>();

/** The corpus of a config, with its hash checked against `corpusSha256` when that is set. */
export async function englishCorpus(t: EnglishConfig): Promise<Corpus> {
  const corpus = t.corpus === undefined ? builtinCorpus() : await readCorpusFile(t.corpus, t.textColumn);
  if (t.corpusSha256 !== undefined && t.corpusSha256 !== corpus.sha256)
    throw new Error(
      `task.corpusSha256: the corpus ${corpus.source} now hashes to ${corpus.sha256}, not ${t.corpusSha256} as when the run was configured; restore the file or drop task.corpusSha256 to start a new run`,
    );
  return corpus;
}

/** The tokenised text of a config; `corpus`, when the caller has already read it (checked against the hash), is not read again. */
export function englishText(t: EnglishConfig, corpus?: Corpus): Promise<EnglishText> {
  const k = JSON.stringify([t.corpus ?? null, t.textColumn, t.corpusSha256 ?? null, t.vocabSize, t.lowercase]);
  let p = cache.get(k);
  if (!p) {
    p = (corpus ? Promise.resolve(corpus) : englishCorpus(t)).then((c) => prepareText(c, t.vocabSize, t.lowercase));
    p.catch(() => cache.delete(k));
    cache.set(k, p);
  }
  return p;
}

/** Starts of the non-overlapping windows of L + 1 tokens in the blocks chosen. */
function slots(text: EnglishText, L: number, evalBlocks: boolean): number[] {
  const out: number[] = [];
  for (const b of text.blocks) if (b.eval === evalBlocks) for (let s = b.start; s + L + 1 <= b.end; s += L + 1) out.push(s);
  return out;
}

function drawDistinct(pool: number[], count: number, seed: number, stream: number, field: string): number[] {
  if (count > pool.length)
    throw new Error(
      `${field}: ${count} sequences asked for, but the corpus has ${pool.length} windows of that context for it; lower ${field} or give a larger task.corpus`,
    );
  const chosen = new Set<number>();
  const out: number[] = [];
  for (let counter = 0; out.length < count; counter++) {
    const i = randInt(pool.length, seed, stream, counter);
    if (chosen.has(i)) continue;
    chosen.add(i);
    out.push(pool[i]);
  }
  return out;
}

function encode(text: EnglishText, starts: readonly number[], L: number): Sequences {
  const inputs = new Int32Array(starts.length * L);
  const targets = new Int32Array(starts.length * L);
  starts.forEach((s, i) => {
    inputs.set(text.ids.subarray(s, s + L), i * L);
    targets.set(text.ids.subarray(s + 1, s + L + 1), i * L);
  });
  return { n: starts.length, inputs, targets };
}

/** Token label columns of the evaluation targets (see the header). */
export function tokenLabels(text: EnglishText, starts: readonly number[], L: number) {
  const n = starts.length * L;
  const tag = (i: number) => (i >= 0 ? text.tags[i] : 'NONE');
  const cols = {
    target: new Int32Array(n),
    word: new Array<string>(n),
    pos: new Array<string>(n),
    pos_1: new Array<string>(n),
    pos_2: new Array<string>(n),
    pos_3: new Array<string>(n),
    freq_band: new Int32Array(n),
    position: new Int32Array(n),
    context: new Array<string>(n),
  };
  starts.forEach((s, e) => {
    for (let t = 0; t < L; t++) {
      const x = e * L + t;
      const i = s + 1 + t;
      cols.target[x] = text.ids[i];
      cols.word[x] = text.words[i];
      cols.pos[x] = tag(i);
      cols.pos_1[x] = tag(i - 1);
      cols.pos_2[x] = tag(i - 2);
      cols.pos_3[x] = tag(i - 3);
      cols.freq_band[x] = frequencyBand(text.ids[i]);
      cols.position[x] = t;
      const before = text.words
        .slice(Math.max(0, i - CONTEXT_WORDS), i)
        .map(showWord)
        .join(' ');
      cols.context[x] = `${before} ⟦${showWord(text.words[i])}⟧`;
    }
  });
  return cols;
}

const windowText = (text: EnglishText, s: number, L: number) =>
  text.words
    .slice(s, s + L + 1)
    .map(showWord)
    .join(' ');

export const englishTask: Task<EnglishConfig> = {
  ...englishSpec,
  async resolve(t: EnglishConfig, data: { evalSize: number; hessianSize: number }): Promise<EnglishConfig> {
    const corpus = await englishCorpus(t);
    const text = await englishText({ ...t, corpusSha256: corpus.sha256 }, corpus);
    const L = t.contextLength;
    const evalSlots = slots(text, L, true).length;
    const trainSlots = slots(text, L, false).length;
    if (data.evalSize > evalSlots)
      throw new Error(
        `data.evalSize: ${data.evalSize} sequences of ${L + 1} tokens asked for, but the evaluation text of ${corpus.source} holds ${evalSlots}; allowed: 1 … ${evalSlots}`,
      );
    if (data.hessianSize > trainSlots)
      throw new Error(
        `data.hessianSize: ${data.hessianSize} sequences of ${L + 1} tokens asked for, but the training text of ${corpus.source} holds ${trainSlots}; allowed: 1 … ${trainSlots}`,
      );
    return t.corpus === undefined ? t : { ...t, corpusSha256: corpus.sha256 };
  },
  async makeData(settings: TaskSettings<EnglishConfig>): Promise<TaskData> {
    const t = settings.task;
    const L = t.contextLength;
    const text = await englishText(t);
    const evalStarts = drawDistinct(slots(text, L, true), settings.data.evalSize, settings.seed, STREAMS.evalSplit, 'data.evalSize');
    const hessStarts = drawDistinct(
      slots(text, L, false),
      settings.data.hessianSize,
      settings.seed,
      STREAMS.hessianSplit,
      'data.hessianSize',
    );
    // Every window start of the training blocks, for the training stream.
    const trainStarts: number[] = [];
    for (const b of text.blocks) if (!b.eval) for (let s = b.start; s + L + 1 <= b.end; s++) trainStarts.push(s);
    if (trainStarts.length === 0)
      throw new Error(`task.corpus: no training window of ${L + 1} tokens; give a larger corpus or a shorter task.contextLength`);
    const labels = tokenLabels(text, evalStarts, L);
    const all = [...evalStarts, ...hessStarts];
    return {
      eval: encode(text, evalStarts, L),
      hessian: encode(text, hessStarts, L),
      trainBatch: (step, batchSize) =>
        encode(
          text,
          Array.from({ length: batchSize }, (_, i) => trainStarts[randInt(trainStarts.length, settings.seed, STREAMS.trainData, step, i)]),
          L,
        ),
      exampleColumns: [
        { name: 'start', type: 'int32', values: Int32Array.from(all) },
        { name: 'text', type: 'utf8', values: all.map((s) => windowText(text, s, L)) },
      ],
      tokenColumns: [
        { name: 'target', type: 'int32', values: labels.target },
        { name: 'word', type: 'utf8', values: labels.word },
        { name: 'pos', type: 'utf8', values: labels.pos },
        { name: 'pos_1', type: 'utf8', values: labels.pos_1 },
        { name: 'pos_2', type: 'utf8', values: labels.pos_2 },
        { name: 'pos_3', type: 'utf8', values: labels.pos_3 },
        { name: 'freq_band', type: 'int32', values: labels.freq_band },
        { name: 'position', type: 'int32', values: labels.position },
        { name: 'context', type: 'utf8', values: labels.context },
      ],
    };
  },
};

/**
 * The English task (core/tasks/english/task.ts) and its text modules (core/text/): wink-nlp's words and
 * POS tags on fixed sentences with known tags, line breaks, tagging that does not depend on what was
 * read before; the vocabulary (counts, ties, UNK, frequency bands); corpora from .txt / .jsonl /
 * .parquet and every bad corpus refused with the field named; the task's data: shapes, the
 * evaluation / training split by blocks, determinism, and token labels consistent with the text.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { encodeParquet } from '../../artifacts/parquet.ts';
import { resolveConfig } from '../../config/index.ts';
import { resolveTask } from '../../core/data.ts';
import { builtinCorpus, corpusHash, readCorpusFile } from '../../core/text/corpus.ts';
import { buildVocabulary, encodeWords, frequencyBand, NEWLINE, tagDocuments, UNK } from '../../core/text/words.ts';
import { BLOCK_TOKENS, EVAL_EVERY_BLOCK, englishCorpus, englishTask, prepareText } from '../../core/tasks/english/task.ts';
import { englishConfigSchema } from '../../core/tasks/english/spec.ts';

const dir = mkdtempSync(join(tmpdir(), 'polca-english-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string, body: string | Uint8Array) => {
  const p = join(dir, name);
  writeFileSync(p, body);
  return p;
};

describe('words and tags (wink-nlp)', () => {
  test('fixed sentences get their known Universal POS tags', () => {
    const cases: [string, string][] = [
      ['The old man saw the whale.', 'The/DET old/ADJ man/NOUN saw/VERB the/DET whale/NOUN ./PUNCT'],
      [
        'She quickly opened the small door and walked outside.',
        'She/PRON quickly/ADV opened/VERB the/DET small/ADJ door/NOUN and/CCONJ walked/VERB outside/ADP ./PUNCT',
      ],
      [
        'Ahab and Starbuck stood on the deck in 1851.',
        'Ahab/PROPN and/CCONJ Starbuck/PROPN stood/VERB on/ADP the/DET deck/NOUN in/ADP 1851/NUM ./PUNCT',
      ],
      ['I will not go to sea.', 'I/PRON will/AUX not/PART go/VERB to/ADP sea/NOUN ./PUNCT'],
    ];
    for (const [s, want] of cases) {
      const t = tagDocuments([s]);
      assert.equal(t.words.map((w, i) => `${w}/${t.tags[i]}`).join(' '), want);
    }
  });
  test('line breaks are one NEWLINE token, spaces and tabs none; documents are joined by one', () => {
    const t = tagDocuments(['Call me Ishmael.\n\n\nSome years ago.', 'It\tis  so.']);
    assert.deepEqual(t.words, ['Call', 'me', 'Ishmael', '.', NEWLINE, 'Some', 'years', 'ago', '.', NEWLINE, 'It', 'is', 'so', '.']);
    assert.equal(t.tags[4], 'SPACE');
    assert.equal(t.tags[9], 'SPACE');
  });
  test('tagging depends only on the documents, not on what was read before', () => {
    const c = builtinCorpus();
    const probe = [c.documents[2]];
    const first = tagDocuments(probe);
    tagDocuments(c.documents.slice(0, 12)); // wink-nlp's reader learns the words it reads
    assert.deepEqual(tagDocuments(probe), first);
  });
});

describe('vocabulary', () => {
  test('the most frequent words by count, ties in code-unit order, UNK at 0, lower-cased', () => {
    const v = buildVocabulary(['b', 'a', 'B', 'c', 'a', 'd', 'c'], 4, true);
    assert.deepEqual(v.tokens, [UNK, 'a', 'b', 'c']);
    assert.deepEqual([...encodeWords(['A', 'd', 'c', 'zz'], v)], [1, 0, 3, 0]);
    const cased = buildVocabulary(['b', 'a', 'B', 'a'], 10, false);
    assert.deepEqual(cased.tokens, [UNK, 'a', 'B', 'b']);
  });
  test('frequency bands by rank', () => {
    assert.deepEqual([0, 1, 10, 11, 100, 101, 1000, 1001, 5000].map(frequencyBand), [4, 0, 0, 1, 1, 2, 2, 3, 3]);
  });
});

describe('corpora', () => {
  test('the built-in corpus: the 135 chapters of Moby-Dick', () => {
    const c = builtinCorpus();
    assert.equal(c.documents.length, 135);
    assert.ok(c.documents[0].startsWith('Call me Ishmael.'));
    assert.equal(c.sha256, corpusHash(c.documents));
  });
  test('plain text, JSONL and Parquet give the same documents and hash', async () => {
    const docs = ['The sea was calm.', 'A whale rose.'];
    const txt = await readCorpusFile(file('a.txt', docs.join('\n\n')), 'text');
    assert.deepEqual(txt.documents, [docs.join('\n\n')]);
    const jl = await readCorpusFile(file('a.jsonl', docs.map((d) => JSON.stringify({ body: d, n: 1 })).join('\n')), 'body');
    assert.deepEqual(jl.documents, docs);
    const pq = await readCorpusFile(file('a.parquet', encodeParquet([{ name: 'body', type: 'utf8', values: docs }] as never)), 'body');
    assert.deepEqual(pq.documents, docs);
    assert.equal(pq.sha256, jl.sha256);
  });
  test('a bad corpus is refused, naming the field', async () => {
    await assert.rejects(readCorpusFile(join(dir, 'missing.txt'), 'text'), /^Error: task\.corpus: no file at/);
    await assert.rejects(
      readCorpusFile(file('a.csv', 'x'), 'text'),
      /task\.corpus: .* extension "\.csv"; allowed: \.txt, \.text, \.jsonl, \.ndjson, \.parquet/,
    );
    await assert.rejects(readCorpusFile(file('empty.txt', ' \n\n  '), 'text'), /task\.corpus: .* holds no text/);
    await assert.rejects(
      readCorpusFile(file('b.jsonl', '{"text": "ok"}\n{"other": 1}'), 'text'),
      /task\.textColumn: .* line 2 has no string field "text"/,
    );
    await assert.rejects(readCorpusFile(file('c.jsonl', 'not json'), 'text'), /task\.corpus: .* line 1 is not JSON/);
    await assert.rejects(
      readCorpusFile(file('d.parquet', encodeParquet([{ name: 'body', type: 'utf8', values: ['x'] }] as never)), 'text'),
      /task\.textColumn: .* has no column "text"; its columns: body/,
    );
    await assert.rejects(readCorpusFile(file('e.parquet', 'not parquet at all'), 'text'), /task\.corpus: .* is not a Parquet file/);
    await assert.rejects(readCorpusFile(file('f.txt', new Uint8Array([0xff, 0xfe, 0x41])), 'text'), /task\.corpus: .* is not valid UTF-8/);
  });
  test('a config with a bad corpus fails before anything starts, naming the field', async () => {
    const c = resolveConfig({ preset: 'english-tiny', sets: [`task.corpus="${join(dir, 'nope.txt')}"`] });
    await assert.rejects(resolveTask(c), /task\.corpus: no file at/);
    const empty = resolveConfig({ preset: 'english-tiny', sets: [`task.corpus="${file('empty2.txt', '')}"`] });
    await assert.rejects(resolveTask(empty), /task\.corpus: .* holds no text/);
    assert.throws(() => resolveConfig({ preset: 'english-tiny', sets: ['task.vocabSize=3'] }), /task\.vocabSize/);
  });
  test('a corpus too small for the data sizes is refused, naming data.evalSize', async () => {
    const small = file('small.txt', 'The whale swam away from the ship. '.repeat(400));
    const c = resolveConfig({ preset: 'english-tiny', sets: [`task.corpus="${small}"`] });
    await assert.rejects(
      resolveTask(c),
      /data\.evalSize: 16 sequences of 17 tokens asked for, but the evaluation text of .* holds \d+; allowed: 1 … \d+/,
    );
  });
  test('a user corpus is keyed by its content: the hash is filled in and checked', async () => {
    const p = file('moby.txt', builtinCorpus().documents.slice(0, 30).join('\n\n'));
    const c = await resolveTask(resolveConfig({ preset: 'english-tiny', sets: [`task.corpus="${p}"`] }));
    const t = c.task as { corpusSha256?: string };
    assert.match(t.corpusSha256 ?? '', /^[0-9a-f]{64}$/);
    writeFileSync(p, 'Changed text. '.repeat(10));
    await assert.rejects(englishCorpus(c.task as never), /task\.corpusSha256: the corpus .* now hashes to/);
  });
});

describe('the english task', () => {
  const t = englishConfigSchema.parse({ name: 'english', vocabSize: 500, contextLength: 16 });
  const settings = { seed: 4, data: { evalSize: 40, hessianSize: 20 }, task: t };
  test('shape, sequences and the block split: no training window touches evaluation text', async () => {
    const text = prepareText(builtinCorpus(), t.vocabSize, t.lowercase);
    assert.equal(text.vocab.tokens.length, 500);
    const d = await englishTask.makeData(settings);
    const L = 16;
    assert.equal(d.eval.inputs.length, 40 * L);
    assert.equal(d.eval.targets.length, 40 * L);
    const evalBlock = (s: number) => Math.floor(s / BLOCK_TOKENS) % EVAL_EVERY_BLOCK === EVAL_EVERY_BLOCK - 1;
    const starts = d.exampleColumns.find((c) => c.name === 'start')?.values as Int32Array;
    for (let i = 0; i < 40; i++) {
      assert.ok(evalBlock(starts[i]) && evalBlock(starts[i] + L), `evaluation window ${i} at ${starts[i]} inside an evaluation block`);
      // targets are the inputs shifted by one, all from the text
      for (let p = 0; p < L; p++) assert.equal(d.eval.inputs[i * L + p], text.ids[starts[i] + p]);
      for (let p = 0; p < L; p++) assert.equal(d.eval.targets[i * L + p], text.ids[starts[i] + p + 1]);
    }
    for (let i = 40; i < 60; i++) assert.ok(!evalBlock(starts[i]) && !evalBlock(starts[i] + L), 'Hessian windows in training blocks');
    // the same (seed, step) gives the same batch; another seed another
    assert.deepEqual(d.trainBatch(7, 8), (await englishTask.makeData(settings)).trainBatch(7, 8));
    assert.notDeepEqual(d.trainBatch(7, 8).inputs, (await englishTask.makeData({ ...settings, seed: 5 })).trainBatch(7, 8).inputs);
  });
  test('training windows never contain an evaluation token', async () => {
    const text = prepareText(builtinCorpus(), t.vocabSize, t.lowercase);
    const d = await englishTask.makeData(settings);
    // Every training window is a substring of one training block: check by locating a few.
    const trainText = text.blocks.filter((b) => !b.eval).map((b) => Array.from(text.ids.subarray(b.start, b.end)).join(','));
    for (let step = 0; step < 5; step++) {
      const b = d.trainBatch(step, 4);
      for (let k = 0; k < 4; k++) {
        const w = Array.from(b.inputs.subarray(k * 16, (k + 1) * 16)).join(',');
        assert.ok(
          trainText.some((s) => s.includes(w)),
          `training window ${step}/${k} lies in a training block`,
        );
      }
    }
  });
  test('token labels: the target word and tag, its predecessors’ tags, band, position, context', async () => {
    const text = prepareText(builtinCorpus(), t.vocabSize, t.lowercase);
    const d = await englishTask.makeData(settings);
    const col = (n: string) => d.tokenColumns.find((c) => c.name === n)?.values as ArrayLike<unknown>;
    const starts = d.exampleColumns.find((c) => c.name === 'start')?.values as Int32Array;
    for (let x = 0; x < 40 * 16; x++) {
      const i = starts[Math.floor(x / 16)] + 1 + (x % 16);
      assert.equal(col('target')[x], text.ids[i]);
      assert.equal(col('word')[x], text.words[i]);
      assert.equal(col('pos')[x], text.tags[i]);
      assert.equal(col('pos_1')[x], text.tags[i - 1]);
      assert.equal(col('pos_3')[x], text.tags[i - 3]);
      assert.equal(col('position')[x], x % 16);
      assert.equal(col('freq_band')[x], frequencyBand(text.ids[i]));
      if (x % 16 > 0) assert.equal(col('pos_1')[x], col('pos')[x - 1]);
    }
    assert.match(String(col('context')[5]), /⟦.+⟧$/);
  });
});

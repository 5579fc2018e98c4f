/**
 * The tokenizer of an imported checkpoint (core/sources/hf/tokenizer.ts, @huggingface/tokenizers)
 * against the Python `tokenizers` library: the ids of every sample of tests/fixtures/hf/tokens.json
 * (all of chapter 1, punctuation and dashes, odd Unicode with tabs and CRLF, an embedded
 * <|endoftext|>) are the Python library's, exactly; the fixture's evaluation windows are the ids of
 * chapter 1 of the built-in corpus; tokenizer.json is found in a checkpoint's directory or beside
 * it, and its absence is refused.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { decodeSafetensors } from '../../artifacts/safetensors.ts';
import { findTokenizer, loadTokenizer } from '../../core/sources/hf/tokenizer.ts';
import { builtinCorpus } from '../../core/text/corpus.ts';

const FIX = 'tests/fixtures/hf';

test('tokenizer.json: ids equal the Python tokenizers library on every fixture sample', () => {
  const tok = loadTokenizer(`${FIX}/tokenizer.json`);
  const { samples } = JSON.parse(readFileSync(`${FIX}/tokens.json`, 'utf8')) as { samples: { text: string; ids: number[] }[] };
  assert.ok(samples.length >= 4);
  let total = 0;
  for (const s of samples) {
    assert.deepEqual(Array.from(tok.encode(s.text)), s.ids, `ids of ${JSON.stringify(s.text.slice(0, 40))}`);
    assert.equal(tok.decode(s.ids), s.text);
    total += s.ids.length;
  }
  assert.ok(total > 8000, `${total} ids compared`);
});

test('tokenizer.json: the fixture evaluation windows are chapter 1 of the built-in corpus', () => {
  const tok = loadTokenizer(`${FIX}/tokenizer.json`);
  const chapter1 = tok.encode(builtinCorpus().documents[0]);
  for (const m of ['gpt2', 'neox']) {
    const ids = decodeSafetensors(readFileSync(`${FIX}/reference-${m}.safetensors`)).tensors['eval.ids'];
    const [n, len] = ids.shape;
    const starts = [40, 400];
    assert.equal(n, starts.length);
    starts.forEach((s, i) => {
      assert.deepEqual(Array.from(ids.data.slice(i * len, (i + 1) * len)), Array.from(chapter1.slice(s, s + len)));
    });
  }
});

test('tokenizer.json is found in the checkpoint directory or beside it, and its absence refused', () => {
  assert.equal(resolve(findTokenizer(`${FIX}/gpt2/step0`)), resolve(`${FIX}/gpt2/tokenizer.json`));
  const snap = `${FIX}/cache/models--polca-fixtures--tiny-neox/snapshots`;
  const commit = readFileSync(`${FIX}/cache/models--polca-fixtures--tiny-neox/refs/step0`, 'utf8').trim();
  assert.equal(resolve(findTokenizer(join(snap, commit))), resolve(join(snap, commit, 'tokenizer.json')));
  const dir = mkdtempSync(join(tmpdir(), 'polca-tok-'));
  try {
    assert.throws(() => findTokenizer(join(dir, 'step0')), /no tokenizer\.json/);
    assert.throws(() => loadTokenizer(join(dir, 'tokenizer.json')), /not a readable tokenizer\.json/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

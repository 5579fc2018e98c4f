/**
 * Word-level tokenisation and part-of-speech tagging of English text with wink-nlp and its
 * English model `wink-eng-lite-web-model` (npm; tokens and Universal POS tags, the tag set spaCy
 * uses), and the word vocabulary of the language-modelling task.
 *
 * Tagging: each document is read by wink-nlp; every token it finds keeps its tag (ADJ, ADP, ADV,
 * AUX, CCONJ, DET, INTJ, NOUN, NUM, PART, PRON, PROPN, PUNCT, SCONJ, SYM, VERB, X), except that a
 * whitespace token (wink's SPACE: a run of line breaks or tabs) becomes the single word NEWLINE
 * with tag SPACE when it holds a line break and is dropped otherwise. Documents are joined with one
 * NEWLINE between them. One token is one word, so every token has exactly one tag.
 *
 * Vocabulary of size V: id 0 is UNK; ids 1 … V − 1 are the V − 1 most frequent words of the
 * training text (lower-cased when `lowercase`), by descending count, ties in code-unit order.
 * Frequency band of an id: 0 for ranks 1–10, 1 for 11–100, 2 for 101–1000, 3 beyond, 4 for UNK.
 */
import { createRequire } from 'node:module';
import type WinkNLP from 'wink-nlp';

export const UNK = '<unk>';
export const NEWLINE = '\n';
export const FREQUENCY_BANDS = ['1-10', '11-100', '101-1000', '1001+', 'unk'] as const;

export interface TaggedWords {
  words: string[];
  tags: string[];
}

type Reader = ReturnType<typeof WinkNLP>;
const require = createRequire(import.meta.url);

/**
 * A wink-nlp reader in its initial state. wink-nlp's reader learns the words it has read (its
 * lexeme cache), and whether a later "world's" is split into "world" + "'s" depends on what came
 * before (measured on the built-in corpus: 256 565 tokens on a fresh reader, 256 344 on a reader
 * that had read the corpus once). So every call gets a fresh reader, and tagging depends only on
 * the documents. The model module is loaded anew for it: wink-nlp rewrites the model object it is
 * given at each instantiation (a string in it is re-serialised and grows), so one model object
 * cannot serve several readers.
 */
function freshReader(): Reader {
  for (const k of Object.keys(require.cache)) if (k.includes('/wink-eng-lite-web-model/')) delete require.cache[k];
  const winkNLP = require('wink-nlp') as typeof WinkNLP;
  return winkNLP(require('wink-eng-lite-web-model'));
}

/** Words and POS tags of documents (see the header). */
export function tagDocuments(documents: readonly string[]): TaggedWords {
  const n = freshReader();
  const its = n.its;
  const words: string[] = [];
  const tags: string[] = [];
  documents.forEach((d, i) => {
    if (i > 0) {
      words.push(NEWLINE);
      tags.push('SPACE');
    }
    const doc = n.readDoc(d);
    const v = doc.tokens().out(its.value) as string[];
    const p = doc.tokens().out(its.pos) as string[];
    for (let k = 0; k < v.length; k++) {
      if (p[k] === 'SPACE' || /^\s+$/.test(v[k])) {
        if (!/[\r\n]/.test(v[k])) continue;
        if (words.length > 0 && words[words.length - 1] === NEWLINE) continue;
        words.push(NEWLINE);
        tags.push('SPACE');
        continue;
      }
      words.push(v[k]);
      tags.push(p[k]);
    }
  });
  return { words, tags };
}

export interface Vocabulary {
  /** Token strings by id: UNK first. */
  tokens: string[];
  ids: Map<string, number>;
  lowercase: boolean;
}

export const normalise = (word: string, lowercase: boolean): string => (lowercase ? word.toLowerCase() : word);

/** The vocabulary of size `size` from the words of the training text (see the header). */
export function buildVocabulary(words: readonly string[], size: number, lowercase: boolean): Vocabulary {
  if (!Number.isInteger(size) || size < 2) throw new Error(`buildVocabulary: size must be an integer ≥ 2; got ${size}`);
  const counts = new Map<string, number>();
  for (const w of words) {
    const k = normalise(w, lowercase);
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
  const ranked = [...counts.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const tokens = [UNK, ...ranked.slice(0, size - 1).map(([w]) => w)];
  return { tokens, ids: new Map(tokens.map((t, i) => [t, i])), lowercase };
}

export function encodeWords(words: readonly string[], vocab: Vocabulary): Int32Array {
  return Int32Array.from(words, (w) => vocab.ids.get(normalise(w, vocab.lowercase)) ?? 0);
}

/** The frequency band (index into FREQUENCY_BANDS) of token id `id`. */
export function frequencyBand(id: number): number {
  if (id === 0) return 4;
  return id <= 10 ? 0 : id <= 100 ? 1 : id <= 1000 ? 2 : 3;
}

/** A word as shown in contexts: NEWLINE as ⏎. */
export const showWord = (w: string): string => (w === NEWLINE ? '⏎' : w);

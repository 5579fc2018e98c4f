/**
 * A checkpoint's tokenizer: its `tokenizer.json` (the format of the Rust `tokenizers` library that
 * `transformers` saves), read with the npm package @huggingface/tokenizers (pure JavaScript; the
 * same ids as the Python library on the fixtures, tests/unit/hf-tokenizer.test.ts). The file is
 * looked for in the checkpoint's directory, then beside the checkpoint folders of a series. Text
 * is encoded without added special tokens (GPT-2's and Pythia's tokenizers add none anyway).
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

export interface HfTokenizer {
  /** The tokenizer.json read. */
  path: string;
  /** Token ids of a text. */
  encode(text: string): Int32Array;
  decode(ids: ArrayLike<number>): string;
}

/** tokenizer.json of a checkpoint directory, else of its parent (the series' folder). */
export function findTokenizer(checkpointDir: string): string {
  for (const dir of [checkpointDir, dirname(checkpointDir)]) {
    const p = join(dir, 'tokenizer.json');
    if (existsSync(p)) return p;
  }
  throw new Error(
    `${checkpointDir}: no tokenizer.json in the checkpoint's directory or beside it; save it with the tokenizer's save_pretrained (transformers) or give pre-tokenized ids`,
  );
}

export function loadTokenizer(path: string): HfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new Error(`${path}: not a readable tokenizer.json (${(e as Error).message})`);
  }
  const configPath = join(dirname(path), 'tokenizer_config.json');
  const config = existsSync(configPath) ? JSON.parse(readFileSync(configPath, 'utf8')) : {};
  let tok: Tokenizer;
  try {
    tok = new Tokenizer(json as object, config);
  } catch (e) {
    throw new Error(`${path}: @huggingface/tokenizers cannot read it (${(e as Error).message})`);
  }
  return {
    path,
    encode: (text) => Int32Array.from(tok.encode(text, { add_special_tokens: false }).ids),
    decode: (ids) => tok.decode(Array.from(ids)),
  };
}

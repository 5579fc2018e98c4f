/** Small helpers shared by the CLI verbs. */
import { readFileSync, type Stats, statSync } from 'node:fs';
import { ConfigError, MAX_CONFIG_DEPTH, PRESET_NAMES } from '../config/index.ts';

/** The presets a `--preset` option takes, for its help text: the preset registry's names, in its order. */
export const presetChoices = (): string => PRESET_NAMES.join(' | ');

/** The deepest bracket nesting of a JSON text (brackets inside strings do not count). */
export function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (inString) {
      if (ch === 92)
        i++; // backslash: skip the escaped character
      else if (ch === 34) inString = false;
    } else if (ch === 34) inString = true;
    else if (ch === 123 || ch === 91) max = Math.max(max, ++depth);
    else if (ch === 125 || ch === 93) depth--;
  }
  return max;
}

/**
 * Read a JSON config file given as `option` (`--config`, `--grid`); errors name the option, the
 * path and what is allowed: a readable regular file holding a JSON object.
 */
export function readConfigFile(path: string, option = '--config'): unknown {
  const allowed = 'allowed: a readable JSON file (see `polca config schema`)';
  const fail = (why: string): never => {
    throw new ConfigError(`${option} ${path}: ${why}; ${allowed}`, [{ path: option, message: `${why}; ${allowed}` }]);
  };
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return fail(code === 'ENOENT' || code === 'ENOTDIR' ? 'no such file' : `cannot be read (${code ?? (e as Error).message})`);
  }
  if (st.isDirectory()) fail('is a directory, not a file');
  if (!st.isFile()) fail('is not a regular file');
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    fail(`cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  // Nesting is checked on the text first: a parser (or a merge) that recurses must never see it.
  const depth = jsonDepth(text);
  if (depth > MAX_CONFIG_DEPTH + 1) {
    throw new ConfigError(`${option} ${path}: nested ${depth} levels deep; allowed: at most ${MAX_CONFIG_DEPTH} (sections of fields)`, [
      { path: '(root)', message: `nested ${depth} levels deep` },
    ]);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${option} ${path}: not valid JSON (${(e as Error).message})`);
  }
}

/**
 * A whole-number command-line option, checked like a config field before anything starts: only
 * digits, within [min, max]; the error names the option, the value given and what is allowed.
 */
export function intOption(name: string, raw: string | number, min: number, max: number): number {
  const text = String(raw).trim();
  const n = /^[0-9]{1,9}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name}: ${JSON.stringify(String(raw))} is not allowed; allowed: a whole number from ${min} to ${max}`, [
      { path: name, message: `allowed: a whole number from ${min} to ${max}` },
    ]);
  }
  return n;
}

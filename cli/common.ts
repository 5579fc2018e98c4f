/** Small helpers shared by the CLI verbs. */
import { existsSync, readFileSync } from 'node:fs';
import { ConfigError } from '../config/index.ts';

/** Read a JSON config file; errors name the file. */
export function readConfigFile(path: string): unknown {
  if (!existsSync(path)) throw new ConfigError(`--config ${path}: no such file`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new ConfigError(`--config ${path}: not valid JSON (${(e as Error).message})`);
  }
}

/** `polca config schema` and `polca config show`: the config's JSON Schema and a resolved config. */
import type { Command } from 'commander';
import { configJsonSchema, resolveConfig } from '../config/index.ts';
import { presetChoices, readConfigFile } from './common.ts';

export function register(program: Command): void {
  const config = program.command('config').description('The experiment configuration');
  config
    .command('schema')
    .description('Print the JSON Schema of the config (for editors and `--config` files)')
    .action(() => {
      console.log(JSON.stringify(configJsonSchema(), null, 2));
    });
  config
    .command('show')
    .description('Print the resolved config: defaults ← preset ← --config ← --set')
    .option('--preset <name>', presetChoices())
    .option('--config <file>', 'a JSON file with a (partial) config')
    .option('--set <path=value...>', 'override one field, e.g. --set train.lr=0.001', [])
    .action((opts: { preset?: string; config?: string; set: string[] }) => {
      const c = resolveConfig({
        preset: opts.preset,
        config: opts.config ? readConfigFile(opts.config) : undefined,
        sets: opts.set,
      });
      console.log(JSON.stringify(c, null, 2));
    });
}

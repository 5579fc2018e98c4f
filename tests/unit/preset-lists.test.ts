/**
 * Every list of presets the user sees — the `--preset` help of `polca run` and `polca config show`,
 * the error for an unknown preset, the config schema's `preset` field — is the preset registry's
 * (config/presets.ts PRESET_NAMES), in its order, so that a preset added there appears everywhere.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Command } from 'commander';
import { buildProgram } from '../../cli/index.ts';
import { ConfigError, configJsonSchema, PRESET_NAMES, PRESETS, resolveConfig } from '../../config/index.ts';

const sub = (c: Command, name: string) => {
  const s = c.commands.find((x) => x.name() === name);
  assert.ok(s, `command ${name}`);
  return s;
};

/** The preset names a command's `--preset` help lists. */
function helpPresets(cmd: Command): string[] {
  const opt = cmd.options.find((o) => o.long === '--preset');
  assert.ok(opt, `${cmd.name()} has --preset`);
  // what --help prints (wrapped to the terminal's width: compared with runs of whitespace as one space)
  const help = cmd.helpInformation().replace(/\s+/g, ' ');
  assert.ok(help.includes(opt.description), `--help prints ${opt.description}`);
  return opt.description.split('|').map((s) => s.trim());
}

test('the registry: every preset name has a preset, and every preset a name', () => {
  assert.deepEqual(Object.keys(PRESETS).sort(), [...PRESET_NAMES].sort());
});

test('`polca run --help` and `polca config show --help` list every preset of the registry', () => {
  const program = buildProgram();
  assert.deepEqual(helpPresets(sub(program, 'run')), [...PRESET_NAMES]);
  assert.deepEqual(helpPresets(sub(sub(program, 'config'), 'show')), [...PRESET_NAMES]);
  // the English presets among them
  for (const p of ['english-tiny', 'english-small', 'english-small-pca', 'english-iclr'])
    assert.ok(sub(program, 'run').helpInformation().replace(/\s+/g, ' ').includes(p), p);
});

test('an unknown preset: the error lists every preset of the registry', () => {
  for (const opts of [{ preset: 'huge' }, { config: { preset: 'huge' } }, { sets: ['preset=huge'] }]) {
    assert.throws(
      () => resolveConfig(opts),
      (e: unknown) => e instanceof ConfigError && e.message.endsWith(`allowed: ${PRESET_NAMES.join(', ')}`),
      JSON.stringify(opts),
    );
  }
});

test("the config schema's preset field allows exactly the registry's presets", () => {
  const schema = configJsonSchema() as { properties: { preset: { enum: string[] } } };
  assert.deepEqual(schema.properties.preset.enum, [...PRESET_NAMES]);
  for (const p of PRESET_NAMES) assert.equal(resolveConfig({ preset: p }).preset, p);
});

/**
 * `polca report <workflowId|run> [--out DIR]`: build the HTML report of a run from the artifact
 * store chosen by the environment (POLCA_STORE, POLCA_STORE_DIR, POLCA_S3_*; see
 * artifacts/index.ts), write it to DIR and print the path of its index.html. The folder is
 * self-contained: it opens from disk with no server and no network.
 */
import { resolve } from 'node:path';
import type { Command } from 'commander';

export interface ReportCommandOptions {
  out?: string;
  stored?: boolean;
}

export async function reportCommand(run: string, opts: ReportCommandOptions): Promise<string> {
  const { openStore } = await import('../artifacts/index.ts');
  const { buildReport, writeReport } = await import('../report/build.ts');
  const store = openStore();
  const record = await store.getRun(run);
  if (!record) {
    const runs = await store.listRuns();
    const shown = runs.slice(-10).join(', ');
    throw new Error(
      `no run record ${JSON.stringify(run)} in ${store.location}; run records are named by workflow id` +
        (runs.length ? ` (latest: ${shown}${runs.length > 10 ? `, … ${runs.length} in all` : ''})` : ' (the store has none)'),
    );
  }
  const dir = resolve(opts.out ?? `polca-report-${record.name}`);
  let files: Record<string, Uint8Array>;
  const storedKey = record.steps.report;
  if (opts.stored) {
    if (!storedKey) throw new Error(`run ${record.name} has no stored report step; drop --stored to build one`);
    const manifest = await store.manifest(storedKey);
    if (!manifest) throw new Error(`run ${record.name}: its report artifact ${storedKey} is not in ${store.location}`);
    files = {};
    for (const f of manifest.files) files[f.name] = await store.get(storedKey, f.name);
  } else {
    files = await buildReport(store, record);
  }
  return writeReport(files, dir);
}

export function register(program: Command): void {
  program
    .command('report')
    .description('Build the HTML report (figures as SVG and PNG, one self-contained index.html) of a run and print its path')
    .argument('<run>', 'the workflow id of the run (run records are named by it)')
    .option('--out <dir>', 'output folder (default ./polca-report-<run>)')
    .option('--stored', 'copy the report the workflow stored as its `report` step instead of building it anew')
    .action(async (run: string, opts: ReportCommandOptions) => {
      console.log(await reportCommand(run, opts));
    });
}

/**
 * The `polca` command. Every verb lives in its own module that exports `register(program)`;
 * heavy imports (TF.js, the Temporal worker) happen inside the actions, so `--help` is instant.
 */
import { Command, CommanderError } from 'commander';
import { register as registerArtifacts } from './artifacts.ts';
import { register as registerCancel } from './cancel.ts';
import { register as registerConfig } from './config.ts';
import { register as registerDoctor } from './doctor.ts';
import { workflowFailureLine } from './failure.ts';
import { register as registerReport } from './report.ts';
import { register as registerRun } from './run.ts';
import { register as registerServices } from './services.ts';
import { register as registerVerify } from './verify.ts';

export function buildProgram(): Command {
  const program = new Command('polca')
    .description('Hidden breakthroughs in training: POLCA loss-change decomposition and HDBSCAN clustering as a durable Temporal workflow')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerRun(program);
  registerCancel(program);
  registerServices(program);
  registerDoctor(program);
  registerArtifacts(program);
  registerVerify(program);
  registerReport(program);
  registerConfig(program);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      process.exitCode = e.exitCode;
      return;
    }
    const err = e as Error;
    // A failed workflow: its innermost cause (the step and its message), not `Workflow execution failed`.
    console.error(`polca: ${workflowFailureLine(e) ?? err.message}`);
    if (process.env.POLCA_DEBUG) console.error(err.stack);
    process.exitCode = typeof (err as { exitCode?: number }).exitCode === 'number' ? (err as unknown as { exitCode: number }).exitCode : 1;
  }
}

/**
 * Ctrl-C during `polca run`: the first SIGINT stops waiting on the workflow, the run's local
 * workers stop (a running step gets a short grace, then is cancelled and handed back to the server
 * for a retry), the command says that the workflow keeps running on the server — with its id and
 * the commands to continue, follow or cancel it — and exits 130. A second SIGINT leaves at once.
 */

/** Exit status of a command ended by SIGINT (128 + 2), as a shell reports it. */
export const INTERRUPTED_EXIT_CODE = 130;

/** Thrown when a run was interrupted; `polca` prints its message last and exits with `exitCode`. */
export class InterruptedError extends Error {
  readonly exitCode = INTERRUPTED_EXIT_CODE;
  constructor(message: string) {
    super(message);
    this.name = 'InterruptedError';
  }
}

export interface Interruption {
  /** True once SIGINT arrived. */
  readonly fired: boolean;
  /** Resolves on the first SIGINT. */
  readonly promise: Promise<void>;
  /** Stop listening (the process's own SIGINT handling is as before). */
  dispose(): void;
}

/** Listen for SIGINT: the first resolves `promise`, a second ends the process at once with 130. */
export function watchInterrupt(): Interruption {
  let fired = false;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  const onSignal = () => {
    if (fired) {
      process.stderr.write('\ninterrupted again: leaving now\n');
      process.exit(INTERRUPTED_EXIT_CODE);
    }
    fired = true;
    // Progress bars hide the cursor until they stop, which they no longer will: show it again.
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
    process.stderr.write('\ninterrupted: stopping the local worker…\n');
    resolve();
  };
  process.on('SIGINT', onSignal);
  return {
    get fired() {
      return fired;
    },
    promise,
    dispose: () => process.off('SIGINT', onSignal),
  };
}

/** A word as a POSIX shell reads it back. */
export function shellWord(w: string): string {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replaceAll("'", `'\\''`)}'`;
}

/**
 * What an interrupted run prints on stderr before its last line: the workflow's state and the
 * commands that continue it (the same command: it attaches to the workflow and starts a worker),
 * follow it and cancel it.
 */
export function interruptedLines(workflowId: string, address: string, argv: string[]): string[] {
  const again = ['polca', ...argv].map(shellWord).join(' ');
  return [
    `workflow ${workflowId} keeps running on the Temporal server at ${address}; its steps wait for a worker (every step already stored is kept).`,
    `  continue it:  ${again}   (attaches to the workflow and starts a worker; or run \`polca worker\`)`,
    `  follow it:    polca status ${shellWord(workflowId)}`,
    `  cancel it:    polca cancel ${shellWord(workflowId)}`,
  ];
}

/**
 * Ctrl-C during `polca run`: the first SIGINT (or SIGTERM) stops waiting on the workflow, the run's local
 * workers stop (a running step gets a short grace, then is cancelled and handed back to the server
 * for a retry), the command says that the workflow keeps running on the server — with its id and
 * the commands to continue, follow or cancel it — and exits 130 (SIGTERM: 143). A second signal
 * leaves at once.
 */

/** Exit status of a command ended by a signal, as a shell reports it: 128 + the signal's number. */
export const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;
export type StopSignal = keyof typeof SIGNAL_EXIT_CODES;

/** Thrown when a run was interrupted; `polca` prints its message last and exits with `exitCode`. */
export class InterruptedError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = SIGNAL_EXIT_CODES.SIGINT,
  ) {
    super(message);
    this.name = 'InterruptedError';
  }
}

export interface Interruption {
  /** True once SIGINT or SIGTERM arrived. */
  readonly fired: boolean;
  /** The signal that arrived first. */
  readonly signal: StopSignal | undefined;
  /** The exit status for it (130 for SIGINT, 143 for SIGTERM). */
  readonly exitCode: number;
  /** Resolves on the first signal. */
  readonly promise: Promise<void>;
  /** Stop listening (the process's own SIGINT handling is as before). */
  dispose(): void;
}

/** Listen for SIGINT and SIGTERM: the first resolves `promise`, a second ends the process at once. */
export function watchInterrupt(): Interruption {
  let signal: StopSignal | undefined;
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  const onSignal = (s: StopSignal) => {
    if (signal) {
      process.stderr.write('\ninterrupted again: leaving now\n');
      process.exit(SIGNAL_EXIT_CODES[signal]);
    }
    signal = s;
    // Progress bars hide the cursor until they stop, which they no longer will: show it again.
    if (process.stderr.isTTY) process.stderr.write('\x1b[?25h');
    process.stderr.write('\ninterrupted: stopping the local worker…\n');
    resolve();
  };
  const onInt = () => onSignal('SIGINT');
  const onTerm = () => onSignal('SIGTERM');
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  return {
    get fired() {
      return signal !== undefined;
    },
    get signal() {
      return signal;
    },
    get exitCode() {
      return SIGNAL_EXIT_CODES[signal ?? 'SIGINT'];
    },
    promise,
    dispose: () => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
    },
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

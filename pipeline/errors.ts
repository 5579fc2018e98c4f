/**
 * The errors whose class decides how a step's failure is handled, by any runner: bad input is not
 * retried; an input that failed its integrity check names its key, so that the DAG recomputes the
 * input's producer at once and runs the step again.
 */

/** A bad input: the runner reports it as a non-retryable failure with this message. */
export class BadInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BadInputError';
  }
}

/**
 * An input artifact failed its integrity check (or vanished). The corrupt artifact has been
 * removed from the store; the runner reports a non-retryable failure naming `key`, and the
 * orchestrator recomputes the step that produced it at once, then runs this step again.
 */
export class InputIntegrityError extends Error {
  constructor(
    message: string,
    readonly key: string,
  ) {
    super(message);
    this.name = 'InputIntegrityError';
  }
}

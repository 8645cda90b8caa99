// Errors caused by user input.

/** An error caused by user input: the CLI prints its message on one line and exits non-zero. */
export class UserError extends Error {
  override name = 'UserError';
}

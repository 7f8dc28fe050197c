// An error meant for the user: main() prints its message as one line and exits 1, no stack.

export class CliError extends Error {
  constructor(
    message: string,
    /** HTTP status when it came from the API server. */
    readonly code?: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

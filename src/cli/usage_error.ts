/** A mistake in the command line: exit code 2, with the command's help printed. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An error's message for a person. */
export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

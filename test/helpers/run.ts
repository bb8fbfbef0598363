import { execFile } from 'node:child_process';

/** How a process ended: its exit code (1 when it was killed or failed to start) and its output. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `file` with `args` (no shell), writes `input` (or nothing) to its stdin and closes it.
 * Never rejects: a non-zero exit is a result like any other.
 * @param options.timeoutMs kills the process after this many ms (0: never).
 * @param options.maxBuffer largest stdout or stderr kept, bytes (16 MiB by default).
 */
export function runProcess(
  file: string,
  args: string[],
  options: {
    env?: NodeJS.ProcessEnv;
    input?: string;
    cwd?: string;
    timeoutMs?: number;
    maxBuffer?: number;
  } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      {
        env: options.env,
        cwd: options.cwd,
        timeout: options.timeoutMs ?? 0,
        maxBuffer: options.maxBuffer ?? 16 * 1024 * 1024,
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin!.end(options.input ?? '');
  });
}

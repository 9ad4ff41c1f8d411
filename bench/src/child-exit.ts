import type { ChildProcess } from 'node:child_process';

/** How a child process of the harness ended, once it did. */
export interface ChildExit {
  /** Resolves when the process exited or could not be spawned. */
  readonly exited: Promise<void>;
  /** `exit code N`, `signal S` or `spawn error …` once it ended, else undefined. */
  status(): string | undefined;
}

/** Watches `child` for its end (exit, or a spawn error, which never emits exit). */
export function watchExit(child: ChildProcess): ChildExit {
  let status: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      status = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
    child.once('error', (error) => {
      status ??= `spawn error ${error.message}`;
      resolve();
    });
  });
  return { exited, status: () => status };
}

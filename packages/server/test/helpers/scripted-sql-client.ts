import type { SqlClient, SqlResult } from '../../src/adapters/sql/sql-client.ts';

interface FailRule {
  pattern: RegExp;
  remaining: number;
}

interface PauseRule {
  pattern: RegExp;
  reached: () => void;
  released: Promise<void>;
}

/** What a client and the transaction clients it hands out share. */
interface Script {
  statements: string[];
  failures: FailRule[];
  pauses: PauseRule[];
}

/**
 * ScriptedSqlClient: a SqlClient around a real one that records every statement and can make
 * chosen statements fail or wait — fault injection at the port, for crash and race tests.
 * Transactions opened through it are scripted too.
 */
export class ScriptedSqlClient implements SqlClient {
  private constructor(
    private readonly inner: SqlClient,
    private readonly script: Script,
  ) {}

  static wrap(inner: SqlClient): ScriptedSqlClient {
    return new ScriptedSqlClient(inner, { statements: [], failures: [], pauses: [] });
  }

  /** Every statement sent so far, in order, transactions included. */
  get statements(): readonly string[] {
    return this.script.statements;
  }

  /**
   * The next `times` statements matching `pattern` fail the way a dropped connection does (a Node
   * error without a SQLSTATE) without reaching the database: what a crash at that step looks like.
   */
  failNext(pattern: RegExp, times = 1): void {
    this.script.failures.push({ pattern, remaining: times });
  }

  /** The next statement matching `pattern` waits for `release`; `reached` resolves once it waits. */
  pauseNext(pattern: RegExp): { reached: Promise<void>; release: () => void } {
    let release = (): void => {};
    let reached = (): void => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const reachedPromise = new Promise<void>((resolve) => {
      reached = resolve;
    });
    this.script.pauses.push({ pattern, reached, released });
    return { reached: reachedPromise, release };
  }

  async query<R>(text: string, params?: readonly unknown[]): Promise<SqlResult<R>> {
    await this.before(text);
    return this.inner.query<R>(text, params);
  }

  transaction<T>(fn: (tx: SqlClient) => Promise<T>): Promise<T> {
    return this.inner.transaction((tx) => fn(new ScriptedSqlClient(tx, this.script)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  private async before(text: string): Promise<void> {
    this.script.statements.push(text);
    const pause = this.script.pauses.find((p) => p.pattern.test(text));
    if (pause) {
      this.script.pauses.splice(this.script.pauses.indexOf(pause), 1);
      pause.reached();
      await pause.released;
    }
    const failure = this.script.failures.find((f) => f.remaining > 0 && f.pattern.test(text));
    if (failure) {
      failure.remaining--;
      throw Object.assign(new Error(`simulated connection loss before: ${text.slice(0, 60)}`), {
        code: 'ECONNRESET',
      });
    }
  }
}

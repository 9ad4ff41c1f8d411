/** What a scenario gets to run against one started system. */
import type { Agent } from 'node:http';
import type { CliOptions } from '../cli-options.ts';
import type { SystemRun } from '../scenario-result.ts';
import type { RunningSystem } from '../systems.ts';

/** One scenario on one system: the options, the system, an HTTP agent, and the run to fill in. */
export interface ScenarioContext {
  options: CliOptions;
  system: RunningSystem;
  agent: Agent;
  repoRoot: string;
  /** Path stem for extra logs of this system's run. */
  logStem: string;
  /** This system's block of source addresses, 127.0.0.<addressBase>… */
  addressBase: number;
  run: SystemRun;
}

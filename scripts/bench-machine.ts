import { execFileSync } from 'node:child_process';
import { cpus, freemem, totalmem } from 'node:os';
import { findPostgresBinaries } from '../packages/server/test/helpers/postgres-launcher.ts';

/** The machine lines every PostgreSQL benchmark page starts with: CPU, memory, Node and PostgreSQL versions. */
export function postgresBenchMachine(): string {
  const postgres = execFileSync(findPostgresBinaries().postgres, ['--version'], { encoding: 'utf8' }).trim();
  const cpu = cpus()[0]?.model ?? 'unknown CPU';
  return [
    `- CPU: ${cpus().length} × ${cpu} (\`nproc\` = ${execFileSync('nproc', { encoding: 'utf8' }).trim()})`,
    `- memory: ${(totalmem() / 2 ** 30).toFixed(1)} GiB total, ${(freemem() / 2 ** 30).toFixed(1)} GiB free at start`,
    `- Node.js ${process.version}, ${postgres}`,
  ].join('\n');
}

import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type EngineProcess, findBinary, startEngine } from './engine-process.ts';

export interface NginxLaunchOptions {
  /** The configuration for nginx listening on `listen` (`127.0.0.1:<port>`) with `prefix` its directory. */
  config(listen: string, prefix: string): string;
  /** Files the configuration includes, by name, written into the prefix. */
  files?: Readonly<Record<string, string>>;
  port?: number;
}

/** Temp directories nginx needs in its prefix (the configuration points every temp path there). */
const TEMP_DIRS = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'];

/**
 * Starts Debian's nginx in the foreground (`daemon off`) on a loopback port with a configuration
 * written into a private prefix directory, and waits until the port answers. The process is the
 * nginx master; its workers are its children.
 */
export function launchNginx(options: NginxLaunchOptions): Promise<EngineProcess> {
  return startEngine({
    name: 'nginx',
    binary: findBinary('nginx', 'nginx'),
    args: (port, dir) => {
      for (const sub of TEMP_DIRS) mkdirSync(join(dir, sub), { recursive: true });
      for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(join(dir, name), text);
      const conf = join(dir, 'nginx.conf');
      writeFileSync(conf, options.config(`127.0.0.1:${port}`, dir));
      return ['-p', dir, '-e', join(dir, 'error.log'), '-c', conf, '-g', 'daemon off;'];
    },
    ...(options.port === undefined ? {} : { port: options.port }),
  });
}

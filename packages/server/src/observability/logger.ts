import pino, { type Logger } from 'pino';

/** JSON logs (pino); pretty when writing to a terminal unless told otherwise. */
export function createLogger(options: {
  level: string;
  pretty?: boolean | undefined;
  name?: string;
}): Logger {
  const pretty = options.pretty ?? process.stdout.isTTY === true;
  return pino({
    name: options.name ?? 'roomcast',
    level: options.level,
    ...(pretty
      ? {
          transport: {
            target: 'pino-pretty',
            options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' },
          },
        }
      : {}),
  });
}

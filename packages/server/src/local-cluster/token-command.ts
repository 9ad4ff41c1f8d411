import { isUserId } from '@roomcast/protocol';
import { DevTokenIssuer } from '../adapters/auth/dev-token-issuer.ts';

export const TOKEN_HELP = `Usage: roomcast token --user <region>_<id> [--roles admin,…] [--ttl 1h] [--name NAME]

Prints an HS256 token signed with ROOMCAST_JWT_SECRET (the secret the gateways and API nodes
verify with): sub = the user ID, roles, a display name, and an expiry --ttl from now
(s, m, h or d; default 1h).`;

/** `1h` → 3600; undefined for anything else. */
export function parseTtl(text: string): number | undefined {
  const match = /^(\d+)([smhd]?)$/.exec(text);
  if (match === null) return undefined;
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd'];
  const seconds = Number(match[1]) * unit;
  return seconds > 0 ? seconds : undefined;
}

/** `roomcast token …`: prints one token on stdout; returns the exit code. */
export async function runTokenCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--help' || arg === '-h') {
      console.log(TOKEN_HELP);
      return 0;
    }
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split('=', 2) : [undefined, undefined];
    const value = inline ?? argv[++i];
    if (name === undefined || !['user', 'roles', 'ttl', 'name'].includes(name) || value === undefined) {
      console.error(`roomcast token: unexpected argument "${arg}"\n${TOKEN_HELP}`);
      return 2;
    }
    flags.set(name, value);
  }
  const user = flags.get('user');
  if (!isUserId(user)) {
    console.error('roomcast token: --user <region>_<id> is required, e.g. --user eu_alice');
    return 2;
  }
  const ttl = parseTtl(flags.get('ttl') ?? '1h');
  if (ttl === undefined) {
    console.error('roomcast token: --ttl must be a duration such as 90s, 30m, 1h or 7d');
    return 2;
  }
  const secret = env.ROOMCAST_JWT_SECRET;
  if (secret === undefined || secret.length < 16) {
    console.error('roomcast token: set ROOMCAST_JWT_SECRET (at least 16 characters) to the cluster secret');
    return 2;
  }
  const roles = (flags.get('roles') ?? '').split(',').filter((r) => r !== '');
  const name = flags.get('name');
  const token = await new DevTokenIssuer(secret).issue({
    user,
    roles,
    expiresInSeconds: ttl,
    ...(name === undefined ? {} : { name }),
  });
  console.log(token);
  return 0;
}

import { randomBytes } from 'node:crypto';
import { regionOf } from '@roomcast/protocol';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/**
 * Makes a room ID from its host's ID: `<host region>_<time><random>`. The region prefix routes the
 * room to its shard with no lookup; time in base36 keeps IDs roughly sortable and about 82
 * random bits make them unique across API nodes with no coordination.
 */
export function newRoomId(hostId: string, now: number = Date.now()): string {
  const region = regionOf(hostId);
  if (region === undefined) throw new TypeError(`not a user ID: ${hostId}`);
  const bytes = randomBytes(16);
  let rest = '';
  for (const b of bytes) rest += ALPHABET[b % 36];
  return `${region}_${now.toString(36).padStart(9, '0')}${rest}`;
}

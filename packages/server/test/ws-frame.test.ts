import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { serverFrame } from '../src/gateway/ws-frame.ts';

// ws's Sender is not in its type definitions; it is the reference implementation we compare with.
const { Sender } = createRequire(import.meta.url)('ws') as {
  Sender: { frame(data: Buffer, options: Record<string, unknown>): Buffer[] };
};

describe('serverFrame', () => {
  it.each([
    0, 1, 125, 126, 127, 65_535, 65_536, 200_000,
  ])('frames %i payload bytes exactly as the ws library does', (length) => {
    const payload = Buffer.alloc(length, 0x61);
    for (const binary of [false, true]) {
      const expected = Buffer.concat(
        Sender.frame(payload, {
          fin: true,
          rsv1: false,
          opcode: binary ? 2 : 1,
          mask: false,
          readOnly: false,
        }),
      );
      expect(serverFrame(payload, binary).equals(expected)).toBe(true);
    }
  });
});

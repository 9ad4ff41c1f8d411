/**
 * One unmasked, final WebSocket data frame (RFC 6455 §5.2) as a single buffer: what a server
 * writes. The fan-out frames a room window once and writes the same bytes to every recipient's
 * socket, instead of having the WebSocket library build a header and two writes per recipient.
 */
export function serverFrame(payload: Uint8Array, binary: boolean): Buffer {
  const length = payload.byteLength;
  const headerLength = length < 126 ? 2 : length < 65_536 ? 4 : 10;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = 0x80 | (binary ? 0x2 : 0x1);
  if (length < 126) {
    frame[1] = length;
  } else if (length < 65_536) {
    frame[1] = 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  frame.set(payload, headerLength);
  return frame;
}

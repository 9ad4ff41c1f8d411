import { Packr, Unpackr } from 'msgpackr';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, type Subprotocol } from './frames.ts';

/**
 * Encodes and decodes frames for one subprotocol. Encoding returns bytes so that a server can
 * encode a frame once and hand the same buffer to every recipient.
 */
export interface FrameCodec {
  readonly subprotocol: Subprotocol;
  /** True when frames go as WebSocket binary frames (MessagePack); JSON goes as text. */
  readonly binary: boolean;
  encode(frame: unknown): Uint8Array;
  /** Throws on bytes that are not one frame of this codec. */
  decode(data: Uint8Array | string): unknown;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

export const jsonCodec: FrameCodec = {
  subprotocol: SUBPROTOCOL_JSON,
  binary: false,
  encode: (frame) => textEncoder.encode(JSON.stringify(frame)),
  decode: (data) => JSON.parse(typeof data === 'string' ? data : textDecoder.decode(data)),
};

// Records (structure sharing) are off: every frame must decode on its own, by any MessagePack library.
const packr = new Packr({ useRecords: false, moreTypes: false, encodeUndefinedAsNil: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, int64AsType: 'number' });

export const msgpackCodec: FrameCodec = {
  subprotocol: SUBPROTOCOL_MSGPACK,
  binary: true,
  encode: (frame) => packr.pack(frame),
  decode: (data) => {
    if (typeof data === 'string') throw new TypeError('a msgpack frame must be binary');
    return unpackr.unpack(data);
  },
};

export const codecs: Record<Subprotocol, FrameCodec> = {
  [SUBPROTOCOL_JSON]: jsonCodec,
  [SUBPROTOCOL_MSGPACK]: msgpackCodec,
};

export function codecFor(subprotocol: string | undefined): FrameCodec | undefined {
  if (subprotocol === undefined || subprotocol === '') return jsonCodec;
  return subprotocol === SUBPROTOCOL_JSON || subprotocol === SUBPROTOCOL_MSGPACK
    ? codecs[subprotocol]
    : undefined;
}

import { describe, expect, it } from 'vitest';
import {
  connectUrl,
  decodeMessage,
  decodeSocketIo,
  frameHeaderBytes,
  framesOnOpen,
  joinedOnOpen,
  subprotocolOf,
} from '../src/client-dialect.ts';

const frame = { op: 'ts', room: 'r1', events: [{ seq: 1, type: 'comment', data: { text: 'hi' } }] };

describe('roomcast dialect', () => {
  it('passes the token in the URL, asks for roomcast.v1.json and joins once open', () => {
    expect(connectUrl('roomcast', 'ws://h/v1/ws', 'r1', 'a b')).toBe('ws://h/v1/ws?token=a%20b');
    expect(subprotocolOf('roomcast')).toBe('roomcast.v1.json');
    expect(framesOnOpen('roomcast', 'r1')).toEqual(['{"op":"join","room":"r1"}']);
    expect(joinedOnOpen('roomcast')).toBe(false);
    expect(decodeMessage('roomcast', JSON.stringify(frame), 'r1')).toEqual({ replies: [], frame });
  });
});

describe('Socket.IO dialect (Engine.IO v4 over a plain WebSocket)', () => {
  it('opens the websocket transport directly', () => {
    expect(connectUrl('socketio', 'ws://h:1', 'r1', 't')).toBe(
      'ws://h:1/socket.io/?EIO=4&transport=websocket',
    );
    expect(subprotocolOf('socketio')).toBeUndefined();
    expect(framesOnOpen('socketio', 'r1')).toEqual([]);
  });

  it('connects to the main namespace after the Engine.IO open packet', () => {
    expect(decodeSocketIo('0{"sid":"x","pingInterval":25000}', 'r1')).toEqual({ replies: ['40'] });
  });

  it('joins the room once the namespace is connected', () => {
    expect(decodeSocketIo('40{"sid":"y"}', 'r1')).toEqual({ replies: ['42["join","r1"]'] });
  });

  it('answers a ping with a pong', () => {
    expect(decodeSocketIo('2', 'r1')).toEqual({ replies: ['3'] });
  });

  it('unwraps the argument of an event packet as the frame', () => {
    expect(decodeSocketIo(`42${JSON.stringify(['ts', frame])}`, 'r1')).toEqual({ replies: [], frame });
    expect(decodeSocketIo('42["joined",{"op":"joined","room":"r1"}]', 'r1').frame).toEqual({
      op: 'joined',
      room: 'r1',
    });
  });

  it('turns a connect error into an error frame', () => {
    expect(decodeSocketIo('44{"message":"no"}', 'r1').frame).toEqual({ op: 'error', code: 'connect_error' });
  });
});

describe('Nchan dialect', () => {
  it('subscribes by URL with message metadata and counts as joined once open', () => {
    expect(connectUrl('nchan', 'ws://h:2', 'room7', 't')).toBe('ws://h:2/sub/room7');
    expect(subprotocolOf('nchan')).toBe('ws+meta.nchan');
    expect(framesOnOpen('nchan', 'room7')).toEqual([]);
    expect(joinedOnOpen('nchan')).toBe(true);
  });

  it('takes the body after the metadata as the published frame, and Nchan’s message ID as its order', () => {
    const text = `id: 1795435394:2\ncontent-type: application/json\n\n${JSON.stringify(frame)}`;
    expect(decodeMessage('nchan', text, 'r1')).toEqual({ replies: [], frame, orderKey: 1795435394_000_002 });
  });

  it('orders by time first, then by the tag within the second', () => {
    const key = (id: string): number | undefined => decodeMessage('nchan', `id: ${id}\n\n{}`, 'r').orderKey;
    expect(key('100:5')!).toBeLessThan(key('101:0')!);
    expect(key('100:5')!).toBeGreaterThan(key('100:4')!);
  });

  it('yields no frame for a body that is not JSON', () => {
    expect(decodeMessage('nchan', 'id: 1:0\n\nnot json', 'r1').frame).toBeUndefined();
  });
});

describe('frameHeaderBytes', () => {
  it('is 2, 4 or 10 bytes by payload length (RFC 6455, unmasked)', () => {
    expect(frameHeaderBytes(125)).toBe(2);
    expect(frameHeaderBytes(126)).toBe(4);
    expect(frameHeaderBytes(65_535)).toBe(4);
    expect(frameHeaderBytes(65_536)).toBe(10);
  });
});

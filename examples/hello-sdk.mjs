// node hello-sdk.mjs — after `npm install @roomcast/client ws`, against `roomcast dev` on :8080.
import { RoomcastClient } from '@roomcast/client';

const url = process.env.ROOMCAST_URL ?? 'http://localhost:8080';
// `roomcast dev` mints tokens for anyone; in production your backend signs the JWT.
const mint = await fetch(`${url}/v1/dev/tokens`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ user: `eu_demo-${Date.now()}` }), // a new host each run: one live room per host
});
const { token } = await mint.json();

const client = new RoomcastClient({ url, token }); // Node 20 uses `ws`; browsers and Node 22+ their own
await client.connect();
const created = await client.api.createRoom({ title: 'Hello from the SDK' });
const room = await client.join(created.id);
const echoed = new Promise((resolve) => {
  room.on('event', (e) => {
    console.log(e.seq, e.type, JSON.stringify(e.data));
    if (e.type === 'comment') resolve(e);
  });
});
await client.publish(created.id, 'comment', { text: 'hello' });
await echoed;
console.log(`over ${client.transport}, in room ${created.id}`);
await client.api.endRoom(created.id);
await client.close();

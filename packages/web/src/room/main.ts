import { RoomApp } from './room-app.ts';

const root = document.getElementById('app');
if (root !== null) new RoomApp(root, location.origin).start();

import { OpsApp } from './ops-app.ts';

const root = document.getElementById('app');
if (root !== null) new OpsApp(root, location.origin).start();

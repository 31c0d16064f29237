import { mount } from 'svelte';
import App from './App.svelte';
import { ConsoleState } from './lib/state/console.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('console: index.html has no #app element');
const desk = new ConsoleState();
mount(App, { target, props: { desk } });
void desk.restore();

import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { deskContext } from './lib/context';
import { ConsoleState } from './lib/state/console.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('console: index.html has no #app element');
const desk = new ConsoleState();
mount(App, { target, context: deskContext(desk) });
void desk.restore();

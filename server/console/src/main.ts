import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { deskContext } from './lib/context';
import { ConsoleState } from './lib/state/console.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('console: the page has no #app element (server/app-build.ts adds it)');
const desk = new ConsoleState();
mount(App, { target, context: deskContext(desk) });
void desk.restore();

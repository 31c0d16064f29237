import { mount } from 'svelte';
import './app.css';
import App from './App.svelte';
import { PortalState } from './lib/portal.svelte';

const target = document.getElementById('app');
if (!target) throw new Error('portal: the page has no #app element (server/app-build.ts adds it)');
const portal = new PortalState();
mount(App, { target, props: { portal } });
// bench:ui measures the first render up to this mark: the first frame with the page's content.
void portal
  .start()
  .then(() => requestAnimationFrame(() => performance.mark('gatehouse:content-visible')));

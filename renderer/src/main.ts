import { mount } from 'svelte';
import BlockDialog from './BlockDialog.svelte';
import Popover from './Popover.svelte';
import { AppStore } from './lib/state/app.svelte';
import { BlockStore } from './lib/state/block.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('renderer: index.html has no #app element');

/** Marks the first frame that shows content, for `npm run bench:ui`. */
function markVisible(): void {
  requestAnimationFrame(() => performance.mark('gatehouse:content-visible'));
}

// The main process loads this page as #popover or #block/<event id>.
const blockMatch = /^#block\/(\d+)$/.exec(location.hash);
if (blockMatch) {
  const block = new BlockStore(window.gatehouse, Number(blockMatch[1]));
  document.title = 'Gatehouse: blocked program';
  mount(BlockDialog, { target, props: { block } });
  void block.load().then(markVisible);
} else {
  const app = new AppStore(window.gatehouse);
  mount(Popover, { target, props: { app } });
  void app.start().then(markVisible);
}

import { mount } from 'svelte';
import Popover from './Popover.svelte';
import { AgentState } from './lib/state/agent.svelte';
import './app.css';

const target = document.getElementById('app');
if (!target) throw new Error('renderer: index.html has no #app element');

const agent = new AgentState(window.gatehouse);
mount(Popover, { target, props: { agent } });
void agent.refresh();

import { getContext } from 'svelte';
import type { ConsoleState } from './state/console.svelte';

const KEY = Symbol('desk');

/** The context to mount the console with: every component reaches the one ConsoleState. */
export const deskContext = (desk: ConsoleState) => new Map<unknown, unknown>([[KEY, desk]]);
export const useDesk = (): ConsoleState => getContext<ConsoleState>(KEY);

import { getContext, setContext } from 'svelte';
import type { ConsoleState } from './state/console.svelte';

const KEY = Symbol('desk');

/** The context to mount the console with: every component reaches the one ConsoleState. */
export const deskContext = (desk: ConsoleState) => new Map<unknown, unknown>([[KEY, desk]]);
export const useDesk = (): ConsoleState => getContext<ConsoleState>(KEY);

const APPLY_FILTERS = Symbol('apply-filters');

/** A choice in a filter form applies at once, as the form's own Apply button would. */
export const provideApplyFilters = (apply: () => void): void => {
  setContext(APPLY_FILTERS, apply);
};
export const useApplyFilters = (): (() => void) => getContext<() => void>(APPLY_FILTERS);

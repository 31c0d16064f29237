import { getContext, setContext } from 'svelte';
import type { ConsoleState } from './state/console.svelte';

const KEY = Symbol('desk');

/** The context to mount the console with: every component reaches the one ConsoleState. */
export const deskContext = (desk: ConsoleState) => new Map<unknown, unknown>([[KEY, desk]]);
export const useDesk = (): ConsoleState => getContext<ConsoleState>(KEY);

const FILTERS = Symbol('filters');

/** A filter form as its controls see it: the values they edit by name, and how to apply them. */
export interface FilterValues {
  readonly values: Record<string, string>;
  /** A choice applies at once, as the form's own Apply button would. */
  apply(): void;
}
export const provideFilters = (form: FilterValues): void => {
  setContext(FILTERS, form);
};
export const useFilters = (): FilterValues => getContext<FilterValues>(FILTERS);

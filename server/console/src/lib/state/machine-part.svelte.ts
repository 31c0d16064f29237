// A part of one machine that a panel of its page loads on its own (posture, effective settings,
// file access events): what came back, or why nothing did.
import { onMount } from 'svelte';
import { api } from '../api';

export class MachinePart<T> {
  value = $state<T | null>(null);
  error = $state('');
  readonly #part: string;

  /** `part` is the path below /machines/:id/ in the console API, query included. */
  constructor(part: string) {
    this.#part = part;
  }

  async load(machineId: string): Promise<void> {
    this.error = '';
    try {
      this.value = await api<T>('GET', `/machines/${encodeURIComponent(machineId)}/${this.#part}`);
    } catch (error) {
      this.value = null;
      this.error = (error as Error).message;
    }
  }
}

/**
 * For a component's set-up: the part, loaded once the component is on the page, for the machine
 * it shows then (a page showing another machine makes a new component).
 */
export function loadMachinePart<T>(machineId: () => string, part: string): MachinePart<T> {
  const loaded = new MachinePart<T>(part);
  onMount(() => void loaded.load(machineId()));
  return loaded;
}

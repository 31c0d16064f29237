/// <reference types="svelte" />
/// <reference types="vite/client" />
import type { GatehouseApi } from '../../common/ipc';

declare global {
  interface Window {
    /** Supplied by the preload; absent when the page runs outside the app. */
    gatehouse?: GatehouseApi;
  }
}

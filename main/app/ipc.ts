// The main side of the IPC contract: every call is answered only for the app's own windows
// showing the app's own page, and only after its arguments pass the shared schema.
import { PAYLOADS, type InvokeChannel } from '../../common/ipc';
import { isTrustedRendererUrl } from './security';

/** The part of Electron's IpcMainInvokeEvent that is checked. */
export interface InvokeEventLike {
  readonly sender: { readonly id: number };
  readonly senderFrame: { readonly url: string } | null;
}

/** The part of Electron's ipcMain this app uses. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface SenderPolicy {
  /** True for the webContents of a window this app created. */
  isOwnWebContents(id: number): boolean;
  readonly renderer: { readonly fileDir?: string; readonly devOrigin?: string };
}

export class UntrustedSenderError extends Error {
  constructor(channel: string, url: string) {
    super(`ipc: refused ${channel} from an untrusted frame (${url || 'unknown'})`);
    this.name = 'UntrustedSenderError';
  }
}

export function checkSender(channel: string, event: InvokeEventLike, policy: SenderPolicy): void {
  const url = event.senderFrame?.url ?? '';
  if (!policy.isOwnWebContents(event.sender.id) || !isTrustedRendererUrl(url, policy.renderer)) {
    throw new UntrustedSenderError(channel, url);
  }
}

type Args<C extends InvokeChannel> = ReturnType<(typeof PAYLOADS)[C]>;

export type IpcHandlers = {
  [C in InvokeChannel]: (sender: { webContentsId: number }, ...args: Args<C>) => unknown;
};

/** Registers one handler per channel; returns the function that removes them all. */
export function registerIpcHandlers(
  ipcMain: IpcMainLike,
  policy: SenderPolicy,
  handlers: IpcHandlers,
): () => void {
  const channels = Object.keys(handlers) as InvokeChannel[];
  for (const channel of channels) {
    ipcMain.handle(channel, (event, ...raw) => {
      checkSender(channel, event, policy);
      const args = PAYLOADS[channel](raw);
      const handler = handlers[channel] as (
        sender: { webContentsId: number },
        ...args: readonly unknown[]
      ) => unknown;
      return handler({ webContentsId: event.sender.id }, ...args);
    });
  }
  return () => {
    for (const channel of channels) ipcMain.removeHandler(channel);
  };
}

// One function per call; the renderer never sees ipcRenderer itself.
import { contextBridge, ipcRenderer } from 'electron';
import { CHANNELS, STATE_CHANNEL, type AppState, type GatehouseApi } from '../../common/ipc';

const api: GatehouseApi = {
  getState: () => ipcRenderer.invoke(CHANNELS.getState),
  onState: (listener) => {
    const forward = (_event: Electron.IpcRendererEvent, state: AppState) => listener(state);
    ipcRenderer.on(STATE_CHANNEL, forward);
    return () => ipcRenderer.removeListener(STATE_CHANNEL, forward);
  },
  getBlock: (eventId) => ipcRenderer.invoke(CHANNELS.getBlock, eventId),
  requestApproval: (eventId, justification) =>
    ipcRenderer.invoke(CHANNELS.requestApproval, eventId, justification),
  replyToRequest: (requestId, text) => ipcRenderer.invoke(CHANNELS.replyToRequest, requestId, text),
  dismissBlock: (eventId, silence) => ipcRenderer.invoke(CHANNELS.dismissBlock, eventId, silence),
  openBlock: (eventId) => ipcRenderer.invoke(CHANNELS.openBlock, eventId),
  openEventDetail: (eventId) => ipcRenderer.invoke(CHANNELS.openEventDetail, eventId),
  syncNow: () => ipcRenderer.invoke(CHANNELS.syncNow),
  quit: () => ipcRenderer.invoke(CHANNELS.quit),
};

contextBridge.exposeInMainWorld('gatehouse', api);

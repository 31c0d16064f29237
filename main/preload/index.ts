// One function per call; the renderer never sees ipcRenderer itself.
import { contextBridge, ipcRenderer } from 'electron';
import type { GatehouseApi } from '../../common/ipc';

const api: GatehouseApi = {
  getStatus: () => ipcRenderer.invoke('gatehouse:get-status'),
};

contextBridge.exposeInMainWorld('gatehouse', api);

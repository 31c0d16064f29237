import { askingCommand } from '../command';

export const sync = askingCommand(
  { name: 'sync', synopsis: 'sync', summary: 'ask the service to sync now' },
  (service) => service.call('sync'),
  (result) => (result.started ? 'sync started' : `sync not started: ${result.reason}`),
);

import { EXIT, type Command } from '../command';

export const sync: Command = {
  name: 'sync',
  synopsis: 'sync',
  summary: 'ask the service to sync now',
  async run(_args, { service, print }) {
    const result = await service.call('sync');
    print(result, () => (result.started ? 'sync started' : `sync not started: ${result.reason}`));
    return EXIT.ok;
  },
};

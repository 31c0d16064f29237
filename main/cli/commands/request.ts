import { EXIT, UsageError, type Command } from '../command';
import { formatRequest } from './requests';

export const request: Command = {
  name: 'request',
  synopsis: 'request EVENT_ID TEXT…',
  summary: 'ask the helpdesk to approve a blocked program, saying why',
  positionals: true,
  async run({ positionals }, { service, print }) {
    const eventId = Number(positionals[0]);
    if (!Number.isSafeInteger(eventId) || eventId < 1 || positionals.length < 2)
      throw new UsageError(
        'request needs an EVENT_ID (from gatehousectl events) and why you need it',
      );
    const created = await service.call('requests.create', {
      eventId,
      justification: positionals.slice(1).join(' '),
    });
    print(created, () => formatRequest(created));
    return EXIT.ok;
  },
};

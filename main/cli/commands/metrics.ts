import { askingCommand } from '../command';

export const metrics = askingCommand(
  {
    name: 'metrics',
    synopsis: 'metrics',
    summary: "the service's figures in Prometheus' text format",
  },
  (service) => service.call('metrics'),
  (answer) => answer.text.trimEnd(),
);

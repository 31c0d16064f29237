// gatehousectl: the command line for the Gatehouse service, one file per command in commands/.
// Exit codes: 0 success; 1 the service refused or failed; 2 usage error; 3 the service is not
// reachable; 4 permission denied (the command needs root).
import { parseArgs } from 'node:util';
import { ParamsError, RPC_ERROR } from '../../common/control';
import { ControlError, DEFAULT_SOCKET_PATH } from '../agent/control/client';
import {
  EXIT,
  ServiceLink,
  UnreachableError,
  UsageError,
  type Command,
  type CommandArgs,
  type ExitCode,
  type Options,
  type Values,
} from './command';
import { events } from './commands/events';
import { fileinfo } from './commands/fileinfo';
import { metrics } from './commands/metrics';
import { posture } from './commands/posture';
import { request } from './commands/request';
import { requests } from './commands/requests';
import { rule } from './commands/rule';
import { rules } from './commands/rules';
import { status } from './commands/status';
import { sync } from './commands/sync';
import { version } from './commands/version';

export { EXIT } from './command';
export { formatPosture } from './commands/posture';

const COMMANDS: readonly Command[] = [
  status,
  fileinfo,
  rule,
  rules,
  events,
  request,
  requests,
  sync,
  posture,
  metrics,
  version,
];

/** Every command takes these. */
const GLOBAL_OPTIONS: Options = {
  json: { type: 'boolean' },
  socket: { type: 'string' },
  help: { type: 'boolean' },
};

const SYNOPSIS_WIDTH = 29;
const USAGE = [
  'usage: gatehousectl <command> [options] [--json] [--socket PATH]',
  '',
  'commands:',
  ...COMMANDS.map(({ synopsis, summary }) =>
    synopsis.length < SYNOPSIS_WIDTH
      ? `  ${synopsis.padEnd(SYNOPSIS_WIDTH)}${summary}`
      : `  ${synopsis}\n${''.padEnd(SYNOPSIS_WIDTH + 2)}${summary}`,
  ),
  '',
  'exit codes: 0 ok, 1 refused or failed, 2 usage, 3 service not reachable, 4 needs root',
].join('\n');

type Out = (line: string) => void;

/** Where the command is in argv: the first argument that is neither an option nor its value. */
function findCommand(argv: readonly string[]): {
  name?: string;
  index: number;
  words: string[];
  help: boolean;
} {
  const allOptions = Object.assign({}, GLOBAL_OPTIONS, ...COMMANDS.map((c) => c.options ?? {}));
  const { tokens, values, positionals } = parseArgs({
    args: [...argv],
    options: allOptions,
    strict: false,
    allowPositionals: true,
    tokens: true,
  });
  const first = tokens.find((token) => token.kind === 'positional');
  const help = values.help === true;
  return first?.kind === 'positional'
    ? { name: first.value, index: first.index, words: positionals, help }
    : { index: -1, words: positionals, help };
}

/** The command's own arguments, in strict mode: an option it does not take is a usage error. */
function parseFor(command: Command, args: string[]): CommandArgs {
  const options = { ...GLOBAL_OPTIONS, ...command.options };
  try {
    const { values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: command.positionals ?? false,
    });
    // No option is declared `multiple`, so none is an array.
    return { values: values as Values, positionals };
  } catch (error) {
    throw new UsageError(describeParseError(command, options, error as Error & { code?: string }));
  }
}

function describeParseError(command: Command, options: Options, error: Error & { code?: string }) {
  const named = /'(-[^' ]+)/.exec(error.message)?.[1];
  const takes = Object.entries(options)
    .map(([name, option]) => `--${name}${option.type === 'string' ? ' VALUE' : ''}`)
    .join(', ');
  switch (error.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${named} for ${command.name} (it takes ${takes})`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `${command.name} takes no arguments, got "${/'([^']*)'/.exec(error.message)?.[1]}"`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (error.message.includes('argument missing')) return `${named} needs a value`;
      if (error.message.includes('ambiguous'))
        return `${named} needs a value; write one that starts with "-" as ${named}=VALUE`;
      return `${named} takes no value`;
    default:
      return error.message;
  }
}

/** The exit code for what went wrong, said on `err`. */
function failure(error: unknown, err: Out): ExitCode {
  if (error instanceof UsageError) {
    err(`gatehousectl: ${error.message}\n\n${USAGE}`);
    return EXIT.usage;
  }
  err(`gatehousectl: ${(error as Error).message}`);
  if (error instanceof ParamsError) return EXIT.usage;
  if (error instanceof UnreachableError) return EXIT.unreachable;
  if (error instanceof ControlError) {
    if (error.code === RPC_ERROR.forbidden) return EXIT.forbidden;
    if (error.code === RPC_ERROR.invalidParams) return EXIT.usage;
  }
  return EXIT.failed;
}

export async function runCtl(
  argv: readonly string[],
  out: Out = console.log,
  err: Out = console.error,
): Promise<number> {
  const found = findCommand(argv);
  if (found.name === undefined || found.name === 'help' || found.help) {
    out(USAGE);
    return found.name === undefined && !found.help ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === found.name);
  const rest = argv.filter((_arg, index) => index !== found.index);
  let service: ServiceLink | undefined;
  try {
    if (!command) throw new UsageError(`unknown command "${found.words.join(' ')}"`);
    const args = parseFor(command, rest);
    const json = args.values.json === true;
    const socket = args.values.socket;
    service = new ServiceLink(
      typeof socket === 'string' ? socket : (process.env.GATEHOUSE_SOCKET ?? DEFAULT_SOCKET_PATH),
    );
    return await command.run(args, {
      service,
      print: (value, human) => out(json ? JSON.stringify(value, null, 2) : human()),
    });
  } catch (error) {
    return failure(error, err);
  } finally {
    service?.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.exitCode = await runCtl(process.argv.slice(2));
}

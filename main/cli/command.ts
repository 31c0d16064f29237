// What every gatehousectl command is given and how it reports: its parsed arguments, a printer
// that honours --json, and the service, reached through the control socket's contract.
import type { ParseArgsConfig } from 'node:util';
import {
  checkParams,
  type ControlArgs,
  type ControlCaller,
  type ControlMethod,
  type ControlResult,
} from '../../common/control';
import { ControlClient } from '../agent/control/client';

export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3, forbidden: 4 } as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Readonly<Record<string, string | boolean | undefined>>;

export interface Command {
  readonly name: string;
  /** How the usage shows it: the command and what it takes. */
  readonly synopsis: string;
  readonly summary: string;
  /** Its own options, beside --json, --socket and --help. */
  readonly options?: Options;
  /** Whether it takes arguments besides options. */
  readonly positionals?: boolean;
  run(args: CommandArgs, context: CommandContext): Promise<ExitCode>;
}

export interface CommandArgs {
  readonly values: Values;
  readonly positionals: readonly string[];
}

export interface CommandContext {
  /** The value as JSON under --json, else as `human` words it. */
  print(value: unknown, human: () => string): void;
  readonly service: ControlCaller;
}

/**
 * A command that asks the service one thing and prints the answer, as most do: `ask` puts the
 * question, `human` words the answer when --json is not given.
 */
export function askingCommand<T>(
  about: Omit<Command, 'run'>,
  ask: (service: ControlCaller, args: CommandArgs) => Promise<T>,
  human: (answer: T) => string,
): Command {
  return {
    ...about,
    async run(args, { service, print }) {
      const answer = await ask(service, args);
      print(answer, () => human(answer));
      return EXIT.ok;
    },
  };
}

/** The command line is wrong; the usage follows the message. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** The service could not be reached at all. */
export class UnreachableError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'UnreachableError';
  }
}

/**
 * The service, connected on the first call: parameters are checked by the contract before the
 * socket is touched, so that a usage error never waits on the service.
 */
export class ServiceLink implements ControlCaller {
  readonly #path: string;
  #client: Promise<ControlClient> | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  async call<M extends ControlMethod>(
    method: M,
    ...args: ControlArgs<M>
  ): Promise<ControlResult<M>> {
    checkParams(method, args[0]);
    this.#client ??= ControlClient.connect(this.#path).catch((error: Error) => {
      throw new UnreachableError(error.message, { cause: error });
    });
    const client = await this.#client;
    return client.call(method, ...args);
  }

  close(): void {
    void this.#client?.then(
      (client) => client.close(),
      () => undefined,
    );
  }
}

// The repositories and the push hub as decorations (app.repos, app.db), so that routes reach them
// through the instance they are registered on instead of importing app.ts back.
import fp from 'fastify-plugin';
import type { Db } from '../db/connect';
import { EventRepository } from '../db/events';
import { FileAccessRepository } from '../db/file-access';
import { MachineRepository } from '../db/machines';
import { PostureRepository } from '../db/posture';
import { RequestRepository } from '../db/requests';
import { RuleRepository } from '../db/rules';
import { SettingsRepository } from '../db/settings';
import { UserRepository } from '../db/users';
import type { PushHub } from '../push';

export interface Repositories {
  readonly machines: MachineRepository;
  readonly rules: RuleRepository;
  readonly events: EventRepository;
  readonly requests: RequestRepository;
  readonly push: PushHub;
  readonly users: UserRepository;
  readonly posture: PostureRepository;
  readonly settings: SettingsRepository;
  readonly fileAccess: FileAccessRepository;
}

declare module 'fastify' {
  interface FastifyInstance {
    readonly repos: Repositories;
    readonly db: Db;
  }
}

export function createRepositories(db: Db, push: PushHub): Repositories {
  return {
    machines: new MachineRepository(db),
    rules: new RuleRepository(db, push),
    events: new EventRepository(db),
    requests: new RequestRepository(db, push),
    users: new UserRepository(db),
    posture: new PostureRepository(db),
    settings: new SettingsRepository(db, push),
    fileAccess: new FileAccessRepository(db),
    push,
  };
}

/** Built by the caller, which keeps them to seed and inspect (the first admin, tests). */
export const repositories = fp<{ db: Db; repos: Repositories }>(
  async (app, { db, repos }) => {
    app.decorate('db', db);
    app.decorate('repos', repos);
  },
  { name: 'repositories' },
);

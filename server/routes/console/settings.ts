// Settings profiles from the console: everyone reads them and each machine's effective settings;
// admins set and remove them. Each change is audited with the values before and after, and
// pushed to the machines the profile reaches so that they sync (and take it) soon.
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyInstance } from 'fastify';
import { RequestError } from '../../db/requests';
import { checkScope, checkSettingValues, type SettingDefaults } from '../../db/settings';
import { consoleUserOf } from '../../plugins/console-session';
import { IdParams } from '../../schemas/console';
import {
  EffectiveSettings,
  SettingsProfile,
  SettingsProfileList,
  SettingsProfileParams,
} from '../../schemas/settings';
import { bodyOf, knownMachine } from './input';

const BODY_KEYS = ['scope', 'scope_value', 'priority', 'values'];

/** Only tag profiles are ordered among themselves; the others have one place each. */
function priorityOf(scope: string, value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (scope !== 'tag') throw new RequestError(400, 'only a tag profile has a priority');
  if (typeof value !== 'number' || !Number.isInteger(value) || value < -1000 || value > 1000)
    throw new RequestError(400, `priority must be a whole number from -1000 to 1000`);
  return value;
}

/** A machine profile names an enrolled machine, so that a typo does not sit unused. */
async function enrolledOr400(repos: FastifyInstance['repos'], scope: string, value: string) {
  if (scope === 'machine' && !(await repos.machines.get(value)))
    throw new RequestError(400, `no machine "${value}" is enrolled`);
}

export async function settingsRoutes(
  fastify: FastifyInstance,
  options: { settingDefaults: SettingDefaults },
): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>();
  const repos = app.repos;

  app.get(
    '/console/api/settings',
    { schema: { response: { 200: SettingsProfileList } } },
    async () => ({ profiles: await repos.settings.list() }),
  );

  app.post(
    '/console/api/settings',
    { config: { role: 'admin' }, schema: { response: { 200: SettingsProfile } } },
    async (request) => {
      const body = bodyOf(request);
      for (const key of Object.keys(body))
        if (!BODY_KEYS.includes(key))
          throw new RequestError(400, `unknown field "${key}": send ${BODY_KEYS.join(', ')}`);
      const { scope, value } = checkScope(body.scope, body.scope_value ?? undefined);
      const priority = priorityOf(scope, body.priority);
      const values = checkSettingValues(body.values);
      await enrolledOr400(repos, scope, value);
      return repos.settings.put(
        { scope, value, priority, values },
        consoleUserOf(request).username,
      );
    },
  );

  app.delete(
    '/console/api/settings/:scope/:value?',
    { config: { role: 'admin' }, schema: { params: SettingsProfileParams } },
    async (request, reply) => {
      const { scope, value } = checkScope(request.params.scope, request.params.value);
      const removed = await repos.settings.remove(scope, value, consoleUserOf(request).username);
      if (!removed)
        return reply.code(404).send({ error: `no ${scope} settings profile ${value}`.trim() });
      return { removed: true };
    },
  );

  app.get(
    '/console/api/machines/:id/settings',
    { schema: { params: IdParams, response: { 200: EffectiveSettings } } },
    async (request) => {
      const machine = await knownMachine(repos.machines, request.params.id);
      const tags = JSON.parse(machine.tags) as string[];
      return {
        machine_id: machine.machine_id,
        settings: await repos.settings.effectiveFor(
          { machine_id: machine.machine_id, tags },
          options.settingDefaults,
        ),
      };
    },
  );
}

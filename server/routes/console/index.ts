// The console's API under /console/api: one session hook for the whole folder, each route
// declaring the least role it needs in its config (plugins/console-session.ts).
import type { FastifyInstance } from 'fastify';
import { authenticateConsole } from '../../plugins/console-session';
import { auditRoutes } from './audit';
import { enrollmentRoutes } from './enrollment';
import { machineRoutes } from './machines';
import { consolePostureRoutes } from './posture';
import { consoleRequestRoutes } from './requests';
import { ruleRoutes } from './rules';
import { settingsRoutes } from './settings';
import { fileAccessRoutes } from './file-access';
import type { SettingDefaults } from '../../db/settings';
import { sessionRoutes } from './session';

export async function consoleApi(
  app: FastifyInstance,
  options: { settingDefaults: SettingDefaults },
): Promise<void> {
  app.addHook('onRequest', authenticateConsole);
  await app.register(sessionRoutes);
  await app.register(consoleRequestRoutes);
  await app.register(machineRoutes);
  await app.register(ruleRoutes);
  await app.register(auditRoutes);
  await app.register(enrollmentRoutes);
  await app.register(consolePostureRoutes);
  await app.register(settingsRoutes, options);
  await app.register(fileAccessRoutes);
}

// Everything a machine calls with its token: one authentication hook for the whole folder, so no
// route can be added here without it (fastify/demo's autohooks, written out). Enrollment is the
// one machine route without a token (it is how a machine gets one), so it is registered beside
// this folder's plugin, not inside it.
import type { FastifyInstance } from 'fastify';
import { admitFleetMachine, authenticateMachine } from '../../plugins/machine-auth';
import { santaProtobuf } from '../../plugins/santa-protobuf';
import { enrollmentKeyRoutes } from './enroll';
import { postureRoutes } from './posture';
import { requestRoutes } from './requests';
import { santaRoutes, type SantaOptions } from './santa';
import { streamRoutes } from './stream';
import { syncTokenRoutes } from './sync-token';

export async function machineRoutes(app: FastifyInstance, options: SantaOptions): Promise<void> {
  app.addHook('onRequest', authenticateMachine);
  // A stock Santa client on the fleet credential is bound once its body (a preflight's serial) is read.
  app.addHook('preValidation', admitFleetMachine);
  // Santa's binary transfer, in a scope of its own so that no other route takes protobuf.
  await app.register(async (santa) => {
    await santa.register(santaProtobuf);
    await santa.register(santaRoutes, options);
  });
  // Santa's XSRF fetch has no body, so it is not a stage of the binary transfer.
  await app.register(syncTokenRoutes);
  await app.register(requestRoutes);
  await app.register(postureRoutes);
  await app.register(streamRoutes);
  await app.register(enrollmentKeyRoutes);
}

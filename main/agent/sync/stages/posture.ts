// Posture results, a Gatehouse stage beside Santa's protocol: POST
// /api/v1/machines/:id/posture with the machine token, only when the results changed since the
// last delivery. A server without the endpoint (404) is left alone.
import type { StageContext } from './stage';

/** Delivers the posture results; returns what was delivered (its key), or undefined if nothing. */
export async function uploadPosture(
  { agent, transport }: StageContext,
  lastDelivered: string | undefined,
): Promise<string | undefined> {
  const results = agent.posture;
  if (!transport.authenticated || results.length === 0) return undefined;
  const body = { results };
  const key = JSON.stringify(body);
  if (key === lastDelivered) return undefined;
  const path = `machines/${encodeURIComponent(transport.machineId)}/posture`;
  const reply = await transport.api('POST', path, body, 'posture', [200, 404]);
  return reply.status === 404 ? undefined : key;
}

// Santa's eventupload: pending events in batches of the preflight's size. An event is marked
// uploaded only after the server's 200, so a failed sync loses none.
import type { StageContext } from './stage';

/** Uploads every pending event; returns how many went. */
export async function uploadEvents(
  { agent, transport }: StageContext,
  batchSize: number,
): Promise<number> {
  let uploaded = 0;
  for (;;) {
    const events = agent.events.pendingUpload(batchSize);
    if (events.length === 0) return uploaded;
    await transport.stage('eventupload', {
      machine_id: transport.machineId,
      events: events.map((event) => ({
        file_sha256: event.fileSha256,
        file_path: event.filePath,
        file_name: event.fileName,
        ...(event.executingUser ? { executing_user: event.executingUser } : {}),
        execution_time: event.executionTime,
        decision: event.decision,
        ...(event.pid !== null ? { pid: event.pid } : {}),
        ...(event.ppid !== null ? { ppid: event.ppid } : {}),
        ...(event.parentName ? { parent_name: event.parentName } : {}),
        // Gatehouse's addition: the Linux package the file came from (Santa servers ignore it).
        ...(event.package ? { package: event.package } : {}),
        ...(event.fileSize !== null ? { file_size: event.fileSize } : {}),
        logged_in_users: event.loggedInUsers,
        current_sessions: event.currentSessions,
      })),
    });
    agent.events.markUploaded(events.map((event) => event.id));
    uploaded += events.length;
  }
}

// What every stage is given, as santasyncservice's SNTSyncStage is given the sync state: the
// agent whose store it reads and writes, and the transport to the server.
import type { Agent } from '../../agent';
import type { SyncTransport } from '../transport';

export interface StageContext {
  readonly agent: Agent;
  readonly transport: SyncTransport;
}

// What each control-socket method does. Who may call it and what it takes are declared in
// common/control.ts; the server checks both before a handler runs, so a handler starts from
// parameters that are already the right shape.
import type {
  CheckedParams,
  ControlMethod,
  ControlResult,
  Refusal,
  RequestRecord,
  ServiceStatus,
} from '../../../common/control';
import { RPC_ERROR } from '../../../common/control';
import type { PostureResult } from '../../../common/posture';
import type { Agent } from '../agent';
import type { SyncPace, UserPace } from './pace';
import { agentMetrics } from './metrics';
import { RpcError, type Caller } from './protocol';

export interface CallContext {
  readonly caller: Caller;
  /** From now on this connection is sent the caller's events and requests, and the status. */
  subscribe(): void;
}

type Handler<M extends ControlMethod> = (
  params: CheckedParams<M>,
  context: CallContext,
) => ControlResult<M> | Promise<ControlResult<M>>;

/** One handler for each method of the contract, and none besides. */
export type Handlers = { readonly [M in ControlMethod]: Handler<M> };

export interface HandlerDependencies {
  readonly agent: Agent;
  status(): ServiceStatus;
  /** Counts a refusal the control socket reports in its status. */
  count(kind: Refusal): void;
  readonly syncs: SyncPace;
  readonly postureRuns: UserPace;
  readonly runPosture: (() => Promise<PostureResult[]>) | undefined;
  readonly sendReply: ((requestId: number, body: string) => Promise<RequestRecord>) | undefined;
}

const isRoot = (caller: Caller) => caller.uid === 0;

export function controlHandlers(deps: HandlerDependencies): Handlers {
  return {
    ...readingHandlers(deps),
    ...requestHandlers(deps),
    ...ruleHandlers(deps),
    ...serviceHandlers(deps),
  };
}

function readingHandlers({
  agent,
  status,
}: HandlerDependencies): Pick<
  Handlers,
  'status' | 'metrics' | 'events' | 'fileinfo' | 'subscribe'
> {
  const metrics = agentMetrics(status);
  return {
    status: () => status(),
    metrics: async () => ({ text: await metrics.text() }),
    events: ({ limit }, { caller }) =>
      agent.events.list({ ...(isRoot(caller) ? {} : { uid: caller.uid }), limit }),
    fileinfo: ({ sha256, md5, path }) =>
      agent.explain({
        sha256,
        ...(md5 === undefined ? {} : { md5 }),
        ...(path === undefined ? {} : { path }),
      }),
    subscribe: (_params, connection) => {
      connection.subscribe();
      return { subscribed: true, status: status() };
    },
  };
}

function requestHandlers({
  agent,
  count,
  syncs,
  sendReply,
}: HandlerDependencies): Pick<Handlers, 'requests.create' | 'requests.reply' | 'requests.list'> {
  return {
    'requests.create': ({ eventId, justification }, { caller }) => {
      const event = agent.events.get(eventId);
      if (!event || (event.uid !== caller.uid && !isRoot(caller)))
        throw new RpcError(RPC_ERROR.notFound, `no event ${eventId} of yours`);
      // An approval is a rule on the file's hash; a program never hashed (too large, started
      // from memory) has none to approve.
      if (!event.fileSha256)
        throw new RpcError(
          RPC_ERROR.invalidParams,
          `event ${eventId} has no SHA-256 (${event.reason ?? 'never hashed'}): there is nothing the helpdesk could approve; ask IT about ${event.filePath}/${event.fileName}`,
        );
      // One request per event and user: asking again answers with the first one, and starts
      // nothing.
      const existing = agent.requests.forEvent(eventId, caller.uid);
      if (existing) {
        count('duplicateRequest');
        return existing;
      }
      const created = agent.requests.create(eventId, caller.uid, justification);
      agent.requestChanged(created); // the user's other windows hear of it
      if (agent.config.syncBaseUrl) syncs.forRequest(caller.uid);
      return created;
    },
    'requests.reply': ({ requestId, text }, { caller }) => {
      const request = agent.requests.get(requestId);
      if (!request || (request.uid !== caller.uid && !isRoot(caller)))
        throw new RpcError(RPC_ERROR.notFound, `no request ${requestId} of yours`);
      if (request.state !== 'needs-info')
        throw new RpcError(
          RPC_ERROR.invalidParams,
          `request ${requestId} has no question from the helpdesk to answer (it is ${request.state})`,
        );
      if (!sendReply)
        throw new RpcError(RPC_ERROR.internal, 'this service runs without a sync client');
      return sendReply(requestId, text).catch((error: Error) => {
        throw new RpcError(RPC_ERROR.internal, error.message);
      });
    },
    'requests.list': (_params, { caller }) =>
      agent.requests.list(isRoot(caller) ? undefined : caller.uid),
  };
}

function ruleHandlers({
  agent,
}: HandlerDependencies): Pick<
  Handlers,
  'rules.list' | 'rules.add' | 'rules.remove' | 'rules.transitive'
> {
  return {
    'rules.list': ({ limit, offset }) => agent.rules.list(limit, offset),
    'rules.transitive': () => ({
      enabled: agent.transitiveEnabled,
      rules: agent.transitiveRules(),
    }),
    'rules.add': ({ rule, customMsg, comment }) => {
      agent.rules.apply(
        [{ ...rule, customMsg: customMsg ?? null, comment: comment ?? null }],
        'local',
      );
      return agent.rules.get(rule.type, rule.identifier) ?? null;
    },
    'rules.remove': (removal) => {
      if ('rule' in removal) return agent.rules.apply([removal.rule], 'local');
      // A row the rule constructor refuses was never in the native table; naming it exactly is
      // how it leaves the store.
      const { stored } = removal;
      const removed = stored ? agent.rules.removeUnusable(stored.type, stored.identifier) : 0;
      if (removed > 0) return { put: 0, removed };
      throw new RpcError(RPC_ERROR.invalidParams, removal.refused);
    },
  };
}

function serviceHandlers({
  agent,
  count,
  syncs,
  postureRuns,
  runPosture,
}: HandlerDependencies): Pick<Handlers, 'setMode' | 'flushCache' | 'sync' | 'posture.run'> {
  const rateLimited = (message: string) => {
    count('rateLimited');
    return new RpcError(RPC_ERROR.rateLimited, message);
  };
  return {
    setMode: ({ mode }) => {
      agent.setMode(mode);
      return { mode: agent.mode };
    },
    flushCache: () => {
      agent.monitor.flushCache();
      return { flushed: true };
    },
    sync: (_params, { caller }) => {
      const since = syncs.tooSoon(caller.uid);
      if (since !== undefined)
        throw rateLimited(
          `a sync was started for you ${Math.round(since / 1000)} s ago (by sync or a new request); wait ${syncs.intervalMs / 1000} s between syncs`,
        );
      if (!agent.config.syncBaseUrl)
        return { started: false, reason: 'SyncBaseURL is not set in the config' };
      if (!syncs.start)
        return { started: false, reason: 'this service runs without a sync client' };
      syncs.start();
      return { started: true };
    },
    'posture.run': (_params, { caller }) => {
      if (!runPosture)
        throw new RpcError(RPC_ERROR.internal, 'this service runs without posture checks');
      const since = isRoot(caller) ? undefined : postureRuns.tooSoon(caller.uid);
      if (since !== undefined)
        throw rateLimited(
          `posture checks were asked for ${Math.round(since / 1000)} s ago; wait ${postureRuns.intervalMs / 1000} s between runs`,
        );
      return runPosture();
    },
  };
}

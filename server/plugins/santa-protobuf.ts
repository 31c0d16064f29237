// Santa's binary transfer (SyncEnableProtoTransfer): a client sends each stage's message as
// application/x-protobuf (compressed or not: plugins/body.ts inflates it first) and parses the
// answer as that stage's binary response, whatever the response's Content-Type says; it sends no
// Accept header. So a protobuf request is decoded into the object a JSON client would have sent,
// the route runs as for JSON, and its serialized answer is re-encoded as the stage's response.
// Refusals stay JSON ({"error": ...}): Santa reads only their status, people read the text.
// Registered in the Santa routes' scope only (routes/machine/index.ts): no other route takes
// protobuf.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import { SantaRequestError } from '../../common/santa';
import {
  decodeSantaRequest,
  encodeSantaResponse,
  isSantaStage,
  MAX_MESSAGES,
  santaMessage,
  TooManyMessages,
  type SantaStage,
} from '../santa/sync-v1';
import { BODY_LIMIT } from './body';

export const PROTOBUF = 'application/x-protobuf';

/** The stage a Santa route serves, from its path: /santa/<stage>/:machine_id. */
function stageOf(request: FastifyRequest): SantaStage | undefined {
  const stage = /^\/santa\/([a-z]+)\//.exec(request.routeOptions.url ?? '')?.[1];
  return stage !== undefined && isSantaStage(stage) ? stage : undefined;
}

function sentProtobuf(request: FastifyRequest): boolean {
  const type = request.headers['content-type'] ?? '';
  return type.split(';')[0]!.trim().toLowerCase() === PROTOBUF;
}

function parseProtobuf(request: FastifyRequest, body: Buffer): Record<string, unknown> {
  const stage = stageOf(request);
  if (!stage) {
    throw Object.assign(new Error(`${request.url} does not take ${PROTOBUF}; send JSON`), {
      statusCode: 415,
    });
  }
  try {
    return decodeSantaRequest(stage, body);
  } catch (error) {
    if (error instanceof TooManyMessages) {
      throw new SantaRequestError(
        `${stage}: the body holds more than ${MAX_MESSAGES} messages (events, certificates, entitlements...); send fewer per request`,
      );
    }
    const type = santaMessage(stage, 'Request').fullName.replace(/^\./, '');
    throw new SantaRequestError(
      `${stage}: the body is not a binary ${type} (${(error as Error).message}); send the stage's protobuf message, or JSON as application/json`,
    );
  }
}

async function santaProtobufPlugin(app: FastifyInstance): Promise<void> {
  app.addContentTypeParser(
    PROTOBUF,
    { parseAs: 'buffer', bodyLimit: BODY_LIMIT },
    (request, body, done) => {
      try {
        done(null, parseProtobuf(request, body as Buffer));
      } catch (error) {
        done(error as Error);
      }
    },
  );
  app.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode !== 200 || !sentProtobuf(request)) return payload;
    const stage = stageOf(request);
    if (!stage || typeof payload !== 'string') return payload;
    void reply.header('content-type', PROTOBUF);
    return Buffer.from(encodeSantaResponse(stage, payload === '' ? {} : JSON.parse(payload)));
  });
}

export const santaProtobuf = fp(santaProtobufPlugin, { name: 'santa-protobuf' });

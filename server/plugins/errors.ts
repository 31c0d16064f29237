// Every error answers as {error: "..."} with a 4xx that says what was wrong, or a logged 500. The
// repositories' RequestError and Santa's SantaRequestError carry their status, so routes throw
// them instead of catching.
import fp from 'fastify-plugin';
import { SantaRequestError } from '../../common/santa';
import { RequestError } from '../db/requests';
import { BODY_LIMIT } from './body';

const ZLIB_MESSAGE =
  /incorrect header check|unexpected end of file|invalid (block type|stored block|distance|code lengths|literal)/;

type Failure = Error & { statusCode?: number; code?: string; validation?: unknown };

function statusOf(error: Failure): number {
  if (error instanceof RequestError) return error.status;
  if (error instanceof SantaRequestError) return 400;
  return error.statusCode ?? 500;
}

/** A schema's refusal names the field and what it must be: "body.scope must be one of machine, user, global". */
function schemaMessage(
  errors: readonly { instancePath: string; message?: string; params: Record<string, unknown> }[],
  part: string,
): Error {
  const first = errors[0]!;
  const field = `${part}${first.instancePath.replaceAll('/', '.')}`;
  const missing = first.params.missingProperty;
  const allowed = first.params.allowedValues;
  const message =
    typeof missing === 'string'
      ? `${field}.${missing} is required`
      : Array.isArray(allowed)
        ? `${field} must be one of ${allowed.join(', ')}`
        : `${field} ${first.message ?? 'is not valid'}`;
  return Object.assign(new Error(message), { statusCode: 400 });
}

export const errors = fp(
  async (app) => {
    app.setSchemaErrorFormatter((errors, part) => schemaMessage(errors, part));
    app.setErrorHandler((error: Failure, _request, reply) => {
      const status = statusOf(error);
      const zlibFailure = error.code?.startsWith('Z_') || ZLIB_MESSAGE.test(error.message);
      if (zlibFailure && status !== 413 && status !== 415) {
        return reply.code(400).send({
          error: `the body could not be decompressed (${error.message}); check Content-Encoding`,
        });
      }
      if (status === 413)
        return reply
          .code(413)
          .send({ error: `the body is larger than ${BODY_LIMIT} bytes (after decompression)` });
      if (status >= 500) {
        reply.log.error(error);
        return reply.code(500).send({ error: 'internal error' });
      }
      return reply.code(status).send({ error: error.message });
    });
  },
  { name: 'errors' },
);

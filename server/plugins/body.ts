// Request bodies as Santa clients send them: deflate (zlib), gzip or identity, per
// Content-Encoding, then JSON. The size limit applies to the decompressed body, so a small
// compressed bomb is refused like a large body. Errors say what was wrong, with a 4xx.
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';

export const BODY_LIMIT = 8 * 1024 * 1024;

export function registerBodyDecoding(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity')
      .toLowerCase()
      .trim();
    if (encoding === 'identity' || encoding === '') return payload;
    const decoder =
      encoding === 'gzip'
        ? createGunzip()
        : encoding === 'deflate' || encoding === 'zlib'
          ? createInflate()
          : undefined;
    if (!decoder) {
      throw Object.assign(
        new Error(`Content-Encoding "${encoding}" is not supported; use deflate, gzip or identity`),
        { statusCode: 415 },
      );
    }
    delete request.headers['content-length']; // the decompressed length is not known yet
    payload.on('error', (error) => decoder.destroy(error));
    decoder.on('error', () => undefined);
    return payload.pipe(decoder);
  });

  const parseJson = (
    _request: unknown,
    body: string,
    done: (error: Error | null, value?: unknown) => void,
  ) => {
    if (body.trim() === '') return done(null, {});
    try {
      done(null, JSON.parse(body));
    } catch (error) {
      done(
        Object.assign(new Error(`the body is not valid JSON (${(error as Error).message})`), {
          statusCode: 400,
        }),
      );
    }
  };
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    parseJson,
  );
  // An empty Santa message is sent as application/octet-stream.
  app.addContentTypeParser(
    'application/octet-stream',
    { parseAs: 'string', bodyLimit: BODY_LIMIT },
    parseJson,
  );

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request, reply) => {
    const status = (error as { statusCode?: number }).statusCode ?? 500;
    const zlibFailure =
      (error as { code?: string }).code?.startsWith('Z_') ||
      /incorrect header check|unexpected end of file|invalid (block type|stored block|distance|code lengths|literal)/.test(
        error.message,
      );
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
}

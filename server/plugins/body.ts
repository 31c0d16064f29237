// Request bodies as Santa clients send them: deflate (zlib), gzip or identity, per
// Content-Encoding, then JSON. The size limit applies to the decompressed body, so a small
// compressed bomb is refused like a large body. Errors say what was wrong, with a 4xx
// (plugins/errors.ts).
import { createGunzip, createInflate } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

export const BODY_LIMIT = 8 * 1024 * 1024;

function registerBodyDecoding(app: FastifyInstance): void {
  // Callback style rather than async: every request passes here, and most are identity.
  app.addHook('preParsing', (request, _reply, payload, done) => {
    const encoding = String(request.headers['content-encoding'] ?? 'identity')
      .toLowerCase()
      .trim();
    if (encoding === 'identity' || encoding === '') return done(null, payload);
    const decoder =
      encoding === 'gzip'
        ? createGunzip()
        : encoding === 'deflate' || encoding === 'zlib'
          ? createInflate()
          : undefined;
    if (!decoder) {
      return done(
        Object.assign(
          new Error(
            `Content-Encoding "${encoding}" is not supported; use deflate, gzip or identity`,
          ),
          { statusCode: 415 },
        ),
      );
    }
    delete request.headers['content-length']; // the decompressed length is not known yet
    payload.on('error', (error) => decoder.destroy(error));
    decoder.on('error', () => undefined);
    done(null, payload.pipe(decoder));
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
}

/** Global, so that every route, whatever plugin registers it, decodes bodies alike. */
export const bodyDecoding = fp(async (app) => registerBodyDecoding(app), { name: 'body' });

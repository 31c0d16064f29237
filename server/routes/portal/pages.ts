// The portal's pages: the built Svelte app (out/portal) under /portal, every path that is not a
// file answering with index.html (the block dialog's links open /portal/blocked?... directly).
// Its own helmet headers and a CSP that allows nothing but the portal's own files.
import { statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const SELF = ["'self'"];
const NONE = ["'none'"];

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

export async function portalPages(
  app: FastifyInstance,
  { portalDir }: { portalDir: string },
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: SELF,
        scriptSrc: SELF,
        styleSrc: SELF,
        imgSrc: SELF,
        connectSrc: SELF,
        objectSrc: NONE,
        frameAncestors: NONE,
        baseUri: NONE,
        formAction: SELF,
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  await app.register(fastifyStatic, { root: portalDir, serve: false });

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const wanted = (request.params as { '*'?: string })['*'] || 'index.html';
    const inside = normalize(join(portalDir, wanted)).startsWith(portalDir + sep);
    if (inside && isFile(join(portalDir, wanted))) return reply.sendFile(wanted);
    if (isFile(join(portalDir, 'index.html'))) return reply.sendFile('index.html');
    return reply.code(503).type('text/plain').send('the portal is not built: run npm run build');
  };
  app.get('/portal', page);
  app.get('/portal/*', page);
}

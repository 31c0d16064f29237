// The console's pages: the built Svelte app (out/console) under /console, every path that is
// not a file answering with index.html so that each page's URL can be opened directly. Helmet
// sets the security headers here only; the CSP allows nothing but the console's own files.
import { statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const SELF = ["'self'"];
const NONE = ["'none'"];

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

export async function consolePages(
  app: FastifyInstance,
  { consoleDir }: { consoleDir: string },
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: SELF,
        scriptSrc: SELF,
        styleSrc: SELF,
        imgSrc: [...SELF, 'data:'],
        objectSrc: NONE,
        frameAncestors: NONE,
        baseUri: NONE,
        formAction: SELF,
      },
    },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // serve: false: the routes below choose the file, so that unknown paths get index.html.
  await app.register(fastifyStatic, { root: consoleDir, serve: false });

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const wanted = (request.params as { '*'?: string })['*'] || 'index.html';
    const inside = normalize(join(consoleDir, wanted)).startsWith(consoleDir + sep);
    if (inside && isFile(join(consoleDir, wanted))) return reply.sendFile(wanted);
    if (isFile(join(consoleDir, 'index.html'))) return reply.sendFile('index.html');
    return reply.code(503).type('text/plain').send('the console is not built: run npm run build');
  };
  app.get('/console', page);
  app.get('/console/*', page);
}

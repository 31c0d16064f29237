// The pages of a browser app the backend serves (the console, the portal): its Vite build (out/NAME)
// under /NAME, every path that is not a file answering with index.html so that each page's URL
// can be opened directly (the block dialog's links open /portal/blocked?... straight away).
// Helmet sets the security headers on these routes only; the CSP allows nothing but the app's
// own files, plus what the app's `csp` adds.
import { statSync } from 'node:fs';
import { join, normalize, sep } from 'node:path';
import helmet from '@fastify/helmet';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const SELF = ["'self'"];
const NONE = ["'none'"];

const DIRECTIVES = {
  defaultSrc: SELF,
  scriptSrc: SELF,
  styleSrc: SELF,
  imgSrc: SELF,
  connectSrc: SELF,
  objectSrc: NONE,
  frameAncestors: NONE,
  baseUri: NONE,
  formAction: SELF,
};

export interface AppPagesOptions {
  readonly name: 'console' | 'portal';
  /** The app's build. */
  readonly dir: string;
  /** Directives that differ from the CSP above. */
  readonly csp?: Partial<Record<keyof typeof DIRECTIVES, string[]>>;
}

const isFile = (path: string) => statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;

export async function appPages(
  app: FastifyInstance,
  { name, dir, csp = {} }: AppPagesOptions,
): Promise<void> {
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { ...DIRECTIVES, ...csp } },
    frameguard: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  });
  // serve: false: the routes below choose the file, so that unknown paths get index.html.
  await app.register(fastifyStatic, { root: dir, serve: false });

  const page = async (request: FastifyRequest, reply: FastifyReply) => {
    const wanted = (request.params as { '*'?: string })['*'] || 'index.html';
    const inside = normalize(join(dir, wanted)).startsWith(dir + sep);
    if (inside && isFile(join(dir, wanted))) return reply.sendFile(wanted);
    if (isFile(join(dir, 'index.html'))) return reply.sendFile('index.html');
    return reply.code(503).type('text/plain').send(`the ${name} is not built: run npm run build`);
  };
  app.get(`/${name}`, page);
  app.get(`/${name}/*`, page);
}

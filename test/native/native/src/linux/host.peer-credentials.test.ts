import { spawn } from 'node:child_process';
import { chmodSync, closeSync, openSync } from 'node:fs';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { nativeAddon } from '../../../../../native/index';
import { tempDir } from '../../../../helpers/files';
import { rootAvailable } from '../../../../helpers/prerequisites';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A Unix socket server that reports the kernel's view of each connecting peer. */
async function listen(): Promise<{ path: string; next(): Promise<ReturnType<typeof peerOf>> }> {
  const dir = tempDir('peercred');
  chmodSync(dir.dir, 0o777);
  const path = join(dir.dir, 'control.sock');
  const waiting: ((socket: Socket) => void)[] = [];
  const server = createServer((socket) => waiting.shift()?.(socket));
  await new Promise<void>((resolve) => server.listen(path, resolve));
  chmodSync(path, 0o777);
  cleanups.push(() => {
    server.close();
    dir.remove();
  });
  return {
    path,
    next: () => new Promise((resolve) => waiting.push((socket) => resolve(peerOf(socket)))),
  };
}

function peerOf(socket: Socket) {
  const fd = (socket as unknown as { _handle: { fd: number } })._handle.fd;
  const credentials = nativeAddon().peerCredentials(fd);
  socket.destroy();
  return credentials;
}

describe('peer credentials of a Unix socket connection', () => {
  it('names this process when it connects to itself', async () => {
    const server = await listen();
    const peer = server.next();
    const client = createConnection(server.path);
    expect(await peer).toEqual({
      pid: process.pid,
      uid: process.getuid!(),
      gid: process.getgid!(),
    });
    client.destroy();
  });

  it('refuses a descriptor that is not a socket, saying why', () => {
    const fd = openSync('/dev/null', 'r');
    cleanups.push(() => closeSync(fd));
    expect(() => nativeAddon().peerCredentials(fd)).toThrow(
      /SO_PEERCRED failed: Socket operation on non-socket/,
    );
  });

  it.runIf(rootAvailable('the peer credential test for another user'))(
    "reports another user's uid and pid as the kernel sees them",
    async () => {
      const server = await listen();
      const peer = server.next();
      const child = spawn(
        process.execPath,
        [
          '-e',
          `require('net').createConnection(${JSON.stringify(server.path)}).on('close', () => process.exit(0))`,
        ],
        { uid: 65534, gid: 65534, stdio: 'ignore' },
      );
      cleanups.push(() => child.kill());
      expect(await peer).toEqual({ pid: child.pid, uid: 65534, gid: 65534 });
    },
  );
});

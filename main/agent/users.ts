// User and process names for events, read from /etc/passwd and /proc (never from the network).
import { readFileSync } from 'node:fs';

let passwd: Map<number, string> | undefined;

export function userName(uid: number): string | undefined {
  if (!passwd || !passwd.has(uid)) {
    passwd = new Map();
    try {
      for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const [name, , id] = line.split(':');
        if (name && id !== undefined) passwd.set(Number(id), name);
      }
    } catch {
      // no names; events keep the uid
    }
  }
  return passwd.get(uid);
}

export function processName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

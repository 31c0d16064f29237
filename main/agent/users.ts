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

/** Who is logged in, from utmp: Santa's logged_in_users and current_sessions ("user@line"). */
export interface Sessions {
  readonly loggedInUsers: string[];
  readonly currentSessions: string[];
}

const UTMP_RECORD = 384; // glibc on 64-bit Linux
const USER_PROCESS = 7;

function cString(buffer: Buffer, offset: number, length: number): string {
  const end = buffer.indexOf(0, offset);
  return buffer.toString('utf8', offset, end >= 0 && end < offset + length ? end : offset + length);
}

export function parseUtmp(data: Buffer): Sessions {
  const users = new Set<string>();
  const sessions = new Set<string>();
  for (let offset = 0; offset + UTMP_RECORD <= data.length; offset += UTMP_RECORD) {
    if (data.readInt32LE(offset) !== USER_PROCESS) continue;
    const line = cString(data, offset + 8, 32);
    const user = cString(data, offset + 44, 32);
    if (!user) continue;
    users.add(user);
    sessions.add(`${user}@${line || 'unknown'}`);
  }
  return { loggedInUsers: [...users].sort(), currentSessions: [...sessions].sort() };
}

let sessionsCache: { at: number; value: Sessions } | undefined;

/** The current sessions, re-read at most every 5 seconds. */
export function currentSessions(utmpPath = '/var/run/utmp', now = Date.now()): Sessions {
  if (sessionsCache && now - sessionsCache.at < 5000) return sessionsCache.value;
  let value: Sessions;
  try {
    value = parseUtmp(readFileSync(utmpPath));
  } catch {
    value = { loggedInUsers: [], currentSessions: [] };
  }
  sessionsCache = { at: now, value };
  return value;
}

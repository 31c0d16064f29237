import { describe, expect, it } from 'vitest';
import { parseUtmp } from '../../../../main/agent/users';

function record(type: number, line: string, user: string): Buffer {
  const buffer = Buffer.alloc(384);
  buffer.writeInt32LE(type, 0);
  buffer.write(line, 8, 'utf8');
  buffer.write(user, 44, 'utf8');
  return buffer;
}

describe('utmp sessions', () => {
  it("lists logged-in users and Santa's user@line sessions, ignoring other record types", () => {
    const data = Buffer.concat([
      record(2, '~', 'reboot'), // BOOT_TIME
      record(7, 'tty1', 'ada'),
      record(7, 'pts/0', 'ada'),
      record(7, 'pts/1', 'grace'),
      record(8, 'pts/2', 'gone'), // DEAD_PROCESS
    ]);
    expect(parseUtmp(data)).toEqual({
      loggedInUsers: ['ada', 'grace'],
      currentSessions: ['ada@pts/0', 'ada@tty1', 'grace@pts/1'],
    });
  });

  it('ignores a truncated record', () => {
    expect(parseUtmp(record(7, 'tty1', 'ada').subarray(0, 100))).toEqual({
      loggedInUsers: [],
      currentSessions: [],
    });
  });
});

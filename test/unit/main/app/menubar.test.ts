import { describe, expect, it } from 'vitest';
import { CHANNELS, STATE_CHANNEL, type ApprovalRequest } from '../../../../common/ipc';
import type { ControlArgs, ControlMethod, ControlResult } from '../../../../common/control';
import type { ControlConnection } from '../../../../main/app/agent-connection';
import type { InvokeEventLike } from '../../../../main/app/ipc';
import { MenuBarApp } from '../../../../main/app/menubar';
import { requestNotice, type Notice } from '../../../../main/app/model';
import type { AppSettings } from '../../../../main/app/settings';
import { SilenceStore } from '../../../../main/app/silences';
import type { WindowLike, WindowOptions } from '../../../../main/app/windows';

const sha = 'ab'.repeat(32);
const storedEvent = (id: number, decision = 'BLOCK_UNKNOWN', fileSha256 = sha) => ({
  id,
  fileSha256,
  filePath: '/home/ada/bin',
  fileName: 'release-tool',
  executingUser: 'ada',
  uid: 1000,
  executionTime: 1_700_000_000,
  lastSeen: 1_700_000_000,
  occurrences: 1,
  pid: 10,
  ppid: 9,
  parentName: 'bash',
  decision,
  package: null,
});
const storedRequest = (state: string, messages: unknown[] = []) => ({
  id: 5,
  eventId: 1,
  uid: 1000,
  justification: 'I need it for the release.',
  state,
  serverId: '1',
  messages,
  createdAt: 1_700_000_100,
});

class FakeSocket implements ControlConnection {
  calls: [string, unknown][] = [];
  push: ((method: string, params: unknown) => void) | undefined;
  fileinfo: Record<string, unknown> = {
    decision: 'BLOCK_UNKNOWN',
    reason: 'No matching rule',
    customMsg: 'Ask #it-help first.',
  };
  async call<M extends ControlMethod>(
    method: M,
    ...args: ControlArgs<M>
  ): Promise<ControlResult<M>> {
    this.calls.push([method, args[0]]);
    const answers: Record<string, unknown> = {
      subscribe: {
        status: { mode: 'LOCKDOWN', monitorRunning: true, syncBaseUrl: null, lastSync: null },
      },
      events: [],
      'requests.list': [],
      fileinfo: this.fileinfo,
      'requests.create': storedRequest('queued'),
    };
    return answers[method] as ControlResult<M>;
  }
  onNotification(listener: (method: string, params: unknown) => void) {
    this.push = listener;
  }
  onClose() {}
  close() {}
}

let nextId = 1;
function fakeWindow(options: WindowOptions, opened: WindowOptions[], sent: unknown[]): WindowLike {
  opened.push(options);
  const id = nextId++;
  return {
    webContents: {
      id,
      send: (channel, payload) => sent.push([id, channel, payload]),
      on: () => {},
      setWindowOpenHandler: () => {},
    },
    loadFile: async () => {},
    loadURL: async () => {},
    show: () => {},
    hide: () => {},
    focus: () => {},
    close: () => {},
    isVisible: () => false,
    isDestroyed: () => false,
    setPosition: () => {},
    once: () => {},
    on: () => {},
  };
}

async function startApp(settings: Partial<AppSettings> = {}) {
  const socket = new FakeSocket();
  const notices: Notice[] = [];
  const opened: WindowOptions[] = [];
  const openedUrls: string[] = [];
  const sent: unknown[] = [];
  const logged: string[] = [];
  const handlers = new Map<string, (event: InvokeEventLike, ...args: unknown[]) => unknown>();
  let silences: string | undefined;
  const app = new MenuBarApp<string>({
    tray: {
      createImage: (p) => p,
      createTray: () => ({
        setImage: () => {},
        setToolTip: () => {},
        setTitle: () => {},
        on: () => {},
        getBounds: () => ({ x: 0, y: 0, width: 1, height: 1 }),
        destroy: () => {},
      }),
    },
    windows: {
      createWindow: (options) => fakeWindow(options, opened, sent),
      openExternal: (url) => void openedUrls.push(url),
      workAreaAt: () => ({ x: 0, y: 0, width: 100, height: 100 }),
      renderer: { file: '/app/out/renderer/index.html' },
      preload: '/app/out/preload/index.cjs',
    },
    ipcMain: { handle: (c, l) => void handlers.set(c, l), removeHandler: () => {} },
    notify: (notice) => notices.push(notice),
    connect: async () => socket,
    settings: { socketPath: '/x', enableSilentMode: false, ...settings },
    silences: new SilenceStore({ read: () => silences, write: (text) => (silences = text) }),
    hostname: 'h',
    appVersion: '9.9.9',
    trustedRenderer: { fileDir: '/app/out/renderer' },
    quit: () => {},
    log: (message) => void logged.push(message),
  });
  await app.start();
  await new Promise((resolve) => setImmediate(resolve));
  // The popover's: it stays open while block dialogs come and go.
  const popoverId = nextId - 1;
  const invoke = (channel: string, ...args: unknown[]) =>
    handlers.get(channel)!(
      {
        sender: { id: popoverId },
        senderFrame: { url: 'file:///app/out/renderer/index.html#popover' },
      },
      ...args,
    );
  return { app, socket, notices, opened, openedUrls, sent, invoke, logged };
}

describe('MenuBarApp', () => {
  it('a block over the socket: a "Blocked" notification and the block dialog', async () => {
    const { socket, notices, opened, sent } = await startApp();
    socket.push?.('event', storedEvent(1));
    await new Promise((resolve) => setImmediate(resolve));
    expect(notices).toEqual([expect.objectContaining({ title: 'Blocked: release-tool' })]);
    expect(opened.map((o) => [o.kind, o.title])).toEqual([
      ['popover', 'Gatehouse'],
      ['block', 'Gatehouse blocked release-tool'],
    ]);
    expect(sent.at(-1)).toEqual([
      expect.any(Number),
      STATE_CHANNEL,
      expect.objectContaining({ blocks: [expect.objectContaining({ id: 1, sha256: sha })] }),
    ]);
  });

  it('an allow event is neither shown nor notified', async () => {
    const { socket, notices, opened } = await startApp();
    socket.push?.('event', storedEvent(2, 'ALLOW_UNKNOWN'));
    expect(notices).toEqual([]);
    expect(opened).toHaveLength(1);
  });

  it('a silenced binary and silent mode show nothing', async () => {
    const silenced = await startApp();
    silenced.socket.push?.('event', storedEvent(1));
    await silenced.invoke(CHANNELS.dismissBlock, 1, 'week');
    silenced.socket.push?.('event', storedEvent(3));
    expect(silenced.notices).toHaveLength(1);

    const silent = await startApp({ enableSilentMode: true });
    silent.socket.push?.('event', storedEvent(1));
    expect(silent.notices).toEqual([]);
    expect(silent.opened).toHaveLength(1);
  });

  it("block details carry the rule's custom message and the agent's reason", async () => {
    const { socket, invoke } = await startApp();
    socket.push?.('event', storedEvent(1));
    const details = await invoke(CHANNELS.getBlock, 1);
    expect(details).toMatchObject({
      message: 'Ask #it-help first.',
      reason: 'No matching rule',
      detailButton: null,
      request: null,
    });
    expect(socket.calls).toContainEqual([
      'fileinfo',
      { sha256: sha, path: '/home/ada/bin/release-tool' },
    ]);
  });

  it('a justification goes to the agent as requests.create; the approval is notified once', async () => {
    const { socket, invoke, notices } = await startApp();
    socket.push?.('event', storedEvent(1));
    const created = (await invoke(
      CHANNELS.requestApproval,
      1,
      'I need it for the release.',
    )) as ApprovalRequest;
    expect(created.state).toBe('queued');
    expect(socket.calls).toContainEqual([
      'requests.create',
      { eventId: 1, justification: 'I need it for the release.' },
    ]);
    socket.push?.('request', storedRequest('pending'));
    socket.push?.('request', storedRequest('approved'));
    socket.push?.('request', storedRequest('approved'));
    expect(notices.map((n) => n.title)).toEqual([
      'Blocked: release-tool',
      'Approved: release-tool can run now',
    ]);
  });

  it('a synced rule\'s notification_app_name: "<name> can now be run", and the block is marked', async () => {
    const { app, socket, notices, sent } = await startApp();
    socket.push?.('event', storedEvent(1));
    socket.push?.('event', storedEvent(2, 'BLOCK_UNKNOWN', 'cd'.repeat(32)));
    socket.push?.('rule', { sha256: sha.toUpperCase(), appName: '  Release Tool ' });
    expect(notices.map((n) => n.title)).toEqual([
      'Blocked: release-tool',
      'Blocked: release-tool',
      'Release Tool can now be run',
    ]);
    expect(sent.at(-1)).toEqual([
      expect.any(Number),
      STATE_CHANNEL,
      expect.objectContaining({
        blocks: [
          expect.objectContaining({ id: 2, nowRuns: null }),
          expect.objectContaining({ id: 1, nowRuns: 'Release Tool' }),
        ],
      }),
    ]);
    // Told once: the same rule again (a later sync) is not news.
    socket.push?.('rule', { sha256: sha, appName: 'Release Tool' });
    expect(notices).toHaveLength(3);
    // Blocked again: the rule did not let it run after all, and the mark goes.
    socket.push?.('event', { ...storedEvent(1), occurrences: 2 });
    expect(app.model.block(1)?.nowRuns).toBeNull();
  });

  it('the rule that comes of an approved request marks the block without a second notification', async () => {
    const { app, socket, notices } = await startApp();
    socket.push?.('event', storedEvent(1));
    socket.push?.('request', storedRequest('approved'));
    socket.push?.('rule', { sha256: sha, appName: 'release-tool' });
    expect(notices.map((n) => n.title)).toEqual([
      'Blocked: release-tool',
      'Approved: release-tool can run now',
    ]);
    expect(app.model.block(1)?.nowRuns).toBe('release-tool');
  });

  it.each<[string, unknown]>([
    ['a name that is not text', { sha256: sha, appName: 7 }],
    ['a blank name', { sha256: sha, appName: '   ' }],
    ['a name past 256 characters', { sha256: sha, appName: 'x'.repeat(257) }],
    ['a name of two lines', { sha256: sha, appName: 'Release Tool\nand your password' }],
    ['a sha that is not a SHA-256', { sha256: 'ab'.repeat(31), appName: 'Release Tool' }],
    ['a sha that is not text', { sha256: 42, appName: 'Release Tool' }],
    ['a program the user was never blocked on', { sha256: 'ef'.repeat(32), appName: 'Other' }],
    ['no object at all', 'Release Tool can now be run'],
    ['nothing', null],
  ])('a rule push with %s is ignored', async (_what, params) => {
    const { app, socket, notices, sent } = await startApp();
    socket.push?.('event', storedEvent(1));
    socket.push?.('rule', params);
    expect(notices.map((n) => n.title)).toEqual(['Blocked: release-tool']);
    expect(app.model.state('').blocks.map((e) => e.nowRuns)).toEqual([null]);
    expect(sent.at(-1)).toEqual([
      expect.any(Number),
      STATE_CHANNEL,
      expect.objectContaining({ blocks: [expect.objectContaining({ nowRuns: null })] }),
    ]);
  });

  it("the Open button takes the rule's custom_url and label before EventDetailURL and EventDetailText", async () => {
    const { socket, invoke, openedUrls } = await startApp({
      eventDetailUrl: 'https://helpdesk.example/%file_sha%',
      eventDetailText: 'Helpdesk',
      machineId: 'ada laptop',
    });
    socket.push?.('event', storedEvent(1));
    socket.fileinfo = {
      ...socket.fileinfo,
      customUrl: 'https://wiki.example/blocked/%file_sha%?m=%machine_id%',
      eventDetailButtonLabel: 'Why is it blocked?',
    };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({
      detailButton: 'Why is it blocked?',
    });
    // Open opens what the button was shown for, even when the rule changed meanwhile.
    socket.fileinfo = { decision: 'BLOCK_UNKNOWN', reason: 'No matching rule' };
    await invoke(CHANNELS.openEventDetail, 1);
    expect(openedUrls).toEqual([`https://wiki.example/blocked/${sha}?m=ada%20laptop`]);

    // The rule's label with EventDetailURL; then neither from the rule.
    socket.fileinfo = { eventDetailButtonLabel: 'Ask IT' };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({ detailButton: 'Ask IT' });
    await invoke(CHANNELS.openEventDetail, 1);
    socket.fileinfo = { customUrl: '  ', eventDetailButtonLabel: 'x'.repeat(49) };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({ detailButton: 'Helpdesk' });
    await invoke(CHANNELS.openEventDetail, 1);
    expect(openedUrls.slice(1)).toEqual([
      `https://helpdesk.example/${sha}`,
      `https://helpdesk.example/${sha}`,
    ]);
  });

  it("the rule's custom_url alone makes an Open… button; without any URL there is none", async () => {
    const { socket, invoke, openedUrls } = await startApp();
    socket.push?.('event', storedEvent(1));
    socket.fileinfo = { customUrl: 'https://wiki.example/%file_sha%' };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({ detailButton: 'Open…' });
    await invoke(CHANNELS.openEventDetail, 1);
    expect(openedUrls).toEqual([`https://wiki.example/${sha}`]);

    socket.fileinfo = { eventDetailButtonLabel: 'Ask IT' };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({ detailButton: null });
    await expect(invoke(CHANNELS.openEventDetail, 1)).rejects.toThrow(/nothing to open/);
    expect(openedUrls).toHaveLength(1);
  });

  it.each([
    'javascript:alert(document.cookie)',
    'file:///etc/shadow',
    'http://wiki.example/%file_sha%',
    'https://user:secret@wiki.example/',
  ])("never opens the rule's custom_url %s, nor shows a button for it", async (customUrl) => {
    const { socket, invoke, openedUrls, logged } = await startApp({
      eventDetailUrl: 'https://helpdesk.example/%file_sha%',
    });
    socket.push?.('event', storedEvent(1));
    socket.fileinfo = { customUrl, eventDetailButtonLabel: 'Why?' };
    expect(await invoke(CHANNELS.getBlock, 1)).toMatchObject({ detailButton: null });
    // Whoever set the URL learns why from the log.
    expect(logged).toContainEqual(
      expect.stringMatching(/no Open button for .*the rule's custom_url did not give an https URL/),
    );
    await expect(invoke(CHANNELS.openEventDetail, 1)).rejects.toThrow(
      /the rule's custom_url did not give an https URL/,
    );
    expect(openedUrls).toEqual([]);
  });

  it('refuses a request for an event that is not one of the user’s blocks', async () => {
    const { invoke } = await startApp();
    await expect(
      invoke(CHANNELS.requestApproval, 99, 'I need it for the release.'),
    ).rejects.toThrow(/no blocked program 99 of yours/);
  });
});

describe('request notifications', () => {
  const base = (
    state: ApprovalRequest['state'],
    messages: ApprovalRequest['messages'] = [],
  ): ApprovalRequest => ({
    id: 1,
    eventId: 1,
    state,
    justification: 'x'.repeat(10),
    messages,
    createdAt: 1,
  });
  const question = {
    author: 'helpdesk' as const,
    authorName: 'grace',
    body: 'Which project?',
    at: 2,
  };

  it.each<[string, ApprovalRequest | undefined, ApprovalRequest, string | undefined]>([
    ['approved', base('pending'), base('approved'), 'Approved: tool can run now'],
    ['approved again', base('approved'), base('approved'), undefined],
    ['asked', base('pending'), base('needs-info', [question]), 'The helpdesk asked a question'],
    ['same question', base('needs-info', [question]), base('needs-info', [question]), undefined],
    [
      'asked again',
      base('needs-info', [question]),
      base('needs-info', [question, { ...question, at: 3, body: 'And?' }]),
      'The helpdesk asked a question',
    ],
    ['denied', base('pending'), base('denied'), 'Denied: tool'],
    ['delivered', base('queued'), base('pending'), undefined],
  ])('%s', (_name, before, after, title) => {
    expect(requestNotice(before, after, 'tool')?.title).toBe(title);
  });
});

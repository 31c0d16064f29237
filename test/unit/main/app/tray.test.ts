import { describe, expect, it } from 'vitest';
import type { ApprovalRequest, RequestState } from '../../../../common/ipc';
import type { AgentStatus, Protection } from '../../../../common/status';
import {
  TrayController,
  trayViewOf,
  type Rectangle,
  type TrayLike,
} from '../../../../main/app/tray';
import { trayIconPng } from '../../../../main/app/tray-icon';

const request = (id: number, state: RequestState): ApprovalRequest => ({
  id,
  eventId: id,
  state,
  justification: 'needed for the release',
  messages: [],
  createdAt: 1,
});

describe('tray state mapping', () => {
  it.each<[AgentStatus, Protection, string]>([
    [{ reachable: false }, 'unreachable', 'Gatehouse: Agent not running'],
    [
      { reachable: true, mode: 'LOCKDOWN', monitorRunning: false },
      'problem',
      'Gatehouse: Not protected',
    ],
    [
      { reachable: true, mode: 'LOCKDOWN', monitorRunning: true },
      'protected',
      'Gatehouse: Protected',
    ],
    [
      { reachable: true, mode: 'MONITOR', monitorRunning: true },
      'monitor-only',
      'Gatehouse: Monitoring only',
    ],
  ])('%j shows the %s icon', (status, protection, tooltip) => {
    expect(trayViewOf(status, [])).toEqual({
      protection,
      pending: 0,
      questions: 0,
      tooltip,
      title: '',
    });
  });

  it('counts undecided requests and questions, not decided ones', () => {
    const view = trayViewOf({ reachable: true, mode: 'LOCKDOWN', monitorRunning: true }, [
      request(1, 'queued'),
      request(2, 'pending'),
      request(3, 'needs-info'),
      request(4, 'approved'),
      request(5, 'denied'),
    ]);
    expect(view.pending).toBe(3);
    expect(view.questions).toBe(1);
    expect(view.title).toBe('3');
    expect(view.tooltip).toBe(
      'Gatehouse: Protected\nThe helpdesk asked you a question\n3 requests waiting',
    );
  });
});

class FakeTray implements TrayLike<string> {
  calls: string[] = [];
  click: ((event: unknown, bounds: Rectangle) => void) | undefined;
  setImage(image: string) {
    this.calls.push(`image ${image}`);
  }
  setToolTip(text: string) {
    this.calls.push(`tooltip ${text}`);
  }
  setTitle(title: string) {
    this.calls.push(`title ${title}`);
  }
  on(_event: 'click', listener: (event: unknown, bounds: Rectangle) => void) {
    this.click = listener;
  }
  getBounds() {
    return { x: 10, y: 0, width: 22, height: 22 };
  }
  destroy() {}
}

describe('TrayController', () => {
  it('hands the tray only what changed', () => {
    const tray = new FakeTray();
    const controller = new TrayController<string>(
      {
        createImage: (protection, pending) => `${protection}${pending ? '+pending' : ''}`,
        createTray: () => tray,
      },
      () => {},
    );
    const protectedView = trayViewOf(
      { reachable: true, mode: 'LOCKDOWN', monitorRunning: true },
      [],
    );
    controller.render(protectedView);
    controller.render(protectedView);
    controller.render(
      trayViewOf({ reachable: true, mode: 'LOCKDOWN', monitorRunning: true }, [
        request(1, 'pending'),
      ]),
    );
    expect(tray.calls).toEqual([
      'image protected',
      'tooltip Gatehouse: Protected',
      'title ',
      'image protected+pending',
      'tooltip Gatehouse: Protected\n1 request waiting',
      'title 1',
    ]);
  });

  it('passes the click with the icon bounds', () => {
    const tray = new FakeTray();
    const clicks: Rectangle[] = [];
    new TrayController<string>({ createImage: () => 'x', createTray: () => tray }, (b) =>
      clicks.push(b),
    );
    tray.click?.({}, { x: 5, y: 6, width: 7, height: 8 });
    expect(clicks).toEqual([{ x: 5, y: 6, width: 7, height: 8 }]);
  });
});

describe('trayIconPng', () => {
  it('draws a PNG per state, and another when requests wait', () => {
    const icons = (['protected', 'monitor-only', 'problem', 'unreachable'] as const).map((p) =>
      trayIconPng(p, false).toString('base64'),
    );
    expect(new Set(icons).size).toBe(4);
    const png = trayIconPng('protected', true, 32);
    expect(png.subarray(0, 8)).toEqual(
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    );
    expect(png.readUInt32BE(16)).toBe(32); // IHDR width
    expect(png.toString('base64')).not.toBe(trayIconPng('protected', false, 32).toString('base64'));
  });
});

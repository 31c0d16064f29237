// The tray icon: its image says the protection state, its title and tooltip the requests that
// wait for the helpdesk. One render() from the state; Electron's Tray is injected.
import type { ApprovalRequest } from '../../common/ipc';
import {
  describeProtection,
  protectionOf,
  type AgentStatus,
  type Protection,
} from '../../common/status';

export interface Rectangle {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface TrayView {
  readonly protection: Protection;
  /** Requests not decided yet (queued, pending, or with a question to answer). */
  readonly pending: number;
  /** Requests where the helpdesk asked a question. */
  readonly questions: number;
  readonly tooltip: string;
  /** Shown beside the icon where the platform can (macOS). */
  readonly title: string;
}

export function trayViewOf(status: AgentStatus, requests: readonly ApprovalRequest[]): TrayView {
  const protection = protectionOf(status);
  const pending = requests.filter((r) => r.state !== 'approved' && r.state !== 'denied').length;
  const questions = requests.filter((r) => r.state === 'needs-info').length;
  const lines = [`Gatehouse: ${describeProtection(protection).headline}`];
  if (questions > 0) {
    lines.push(
      questions === 1
        ? 'The helpdesk asked you a question'
        : `The helpdesk asked you ${questions} questions`,
    );
  }
  if (pending > 0) {
    lines.push(pending === 1 ? '1 request waiting' : `${pending} requests waiting`);
  }
  return {
    protection,
    pending,
    questions,
    tooltip: lines.join('\n'),
    title: pending > 0 ? String(pending) : '',
  };
}

/** The part of Electron's Tray this app uses. */
export interface TrayLike<Image = unknown> {
  setImage(image: Image): void;
  setToolTip(text: string): void;
  setTitle(title: string): void;
  on(event: 'click', listener: (event: unknown, bounds: Rectangle) => void): unknown;
  getBounds(): Rectangle;
  destroy(): void;
}

export interface TrayFactories<Image> {
  createImage(protection: Protection, pending: boolean): Image;
  createTray(image: Image): TrayLike<Image>;
}

export class TrayController<Image = unknown> {
  readonly #factories: TrayFactories<Image>;
  readonly #tray: TrayLike<Image>;
  #shown: TrayView | undefined;

  constructor(factories: TrayFactories<Image>, onClick: (bounds: Rectangle) => void) {
    this.#factories = factories;
    this.#tray = factories.createTray(factories.createImage('unreachable', false));
    this.#tray.on('click', (_event, bounds) => onClick(bounds ?? this.#tray.getBounds()));
  }

  get bounds(): Rectangle {
    return this.#tray.getBounds();
  }

  /** Shows a view; only what changed is handed to the tray. */
  render(view: TrayView): void {
    const before = this.#shown;
    if (before?.protection !== view.protection || before.pending > 0 !== view.pending > 0) {
      this.#tray.setImage(this.#factories.createImage(view.protection, view.pending > 0));
    }
    if (before?.tooltip !== view.tooltip) this.#tray.setToolTip(view.tooltip);
    if (before?.title !== view.title) this.#tray.setTitle(view.title);
    this.#shown = view;
  }

  destroy(): void {
    this.#tray.destroy();
  }
}

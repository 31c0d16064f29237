// What a page's state needs from the console around it: to navigate, to run an API call with its
// error shown, and to say something. ConsoleState provides it; the pages depend on this alone, so
// the console and its pages do not import each other.
export interface Desk {
  error: string;
  notice: string;
  /** True once a newer page load has started: an older answer must not overwrite it. */
  readonly stale: () => boolean;
  go(url: string, replace?: boolean): Promise<void>;
  show(): Promise<void>;
  run(work: () => Promise<void>): Promise<boolean>;
}

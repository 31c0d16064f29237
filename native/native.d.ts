// The raw shape of gatehouse.node. Only native/index.ts imports this; everything else uses the
// typed wrapper there.
export interface RawAddon {
  /** The version the addon was built from (package.json at build time). */
  version(): string;
  /** The exec-monitor backend compiled in: "fanotify" on Linux, "endpoint-security" on macOS. */
  backend(): string;
}

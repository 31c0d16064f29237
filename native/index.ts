// The native addon's typed surface: the loader and the exec monitor.
export type { RawAddon } from './native.d.ts';
export { addonCandidates, loadAddonFrom, nativeAddon, NativeAddonNotFoundError } from './loader';
export {
  ExecMonitor,
  ExecMonitorOptionsError,
  POLICY_CODES,
  type BinaryRuleChunk,
  type PackageDigests,
  validateMonitorOptions,
  type DecisionListener,
  type ExecMonitorOptions,
  type ExecDecision,
  type MonitorMetrics,
  type PathScopes,
  type WatchedFilesystem,
} from './monitor';

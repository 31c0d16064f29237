// Electron's entry point. The same binary runs two roles: `gatehouse --service` (root, started by
// systemd or launchd with ELECTRON_RUN_AS_NODE=1, so no Electron API may be imported on that path)
// and the menu-bar app in the user's session.
if (process.argv.includes('--service')) {
  const { runService } = await import('./agent/service');
  process.exitCode = await runService(process.argv.slice(2));
} else {
  await import('./app/main');
}

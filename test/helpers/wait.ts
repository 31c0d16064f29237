/** Polls until probe() is true; fails naming what it waited for. */
export async function until(probe: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Polls until probe() gives a value, and returns it; fails naming what it waited for. */
export async function eventually<T>(
  probe: () => T | undefined,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  let value: T | undefined;
  await until(() => (value = probe()) !== undefined, what, timeoutMs);
  return value!;
}

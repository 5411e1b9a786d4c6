/**
 * Notices that the process that started the daemon has exited. npm (`npx errand worker`) exits on
 * SIGTERM without passing it on, which left the daemon running under PID 1 with its commands and
 * stats port. When the parent is gone, the daemon's parent pid changes (to 1 or a subreaper).
 */
const CHECK_EVERY_MS = 1000;

/** Calls `onExit` once when the parent process is gone; returns a function that stops watching. */
export function watchParent(onExit: () => void): () => void {
  const parent = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    onExit();
  }, CHECK_EVERY_MS);
  timer.unref();
  return () => clearInterval(timer);
}

/**
 * Ends a finished CLI command by letting the event loop drain rather than calling process.exit at once.
 * process.exit while V8 compiles in the background can deadlock the exit itself (nodejs/node#54918:
 * the main thread joins compiler threads that wait for a GC only the main thread would run); a natural
 * exit drains those tasks first. Whatever still holds the loop open after `graceMs` is cut off.
 */
export function exitWhenIdle(graceMs = 5_000): void {
  process.exitCode ??= 0;
  setTimeout(() => process.exit(), graceMs).unref();
}

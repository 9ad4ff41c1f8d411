/** `1234` → `1,234`; rates keep one decimal below 10. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return '–';
  if (Math.abs(n) < 10 && !Number.isInteger(n)) return n.toFixed(1);
  return Math.round(n).toLocaleString('en-US');
}

/** `1536` → `1.5 KiB`. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 * 1024) return `${oneDecimal(n / 1024)} KiB`;
  return `${oneDecimal(n / 1024 / 1024)} MiB`;
}

/** `1.5` → `1.5`, `32.0` → `32`. */
function oneDecimal(n: number): string {
  return n.toFixed(1).replace(/\.0$/, '');
}

/** A duration in seconds as `1h 2m`, `3m 4s` or `5s`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s >= 3600) return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${s}s`;
}

/** Milliseconds since the epoch as a local `HH:MM:SS`. */
export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString('en-GB', { hour12: false });
}

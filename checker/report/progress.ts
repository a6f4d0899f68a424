// The progress line: on a terminal only (stderr), a few updates a second at most, erased before the summary.
import { formatBytes } from './report.ts';

export interface Progress {
  update(fields: Record<string, number>): void;
  clear(): void;
}

const INTERVAL_MS = 250;

export function progressLine(stream: NodeJS.WriteStream = process.stderr): Progress | null {
  if (!stream.isTTY) return null;
  const started = performance.now();
  // Not 0: performance.now() counts from the thread's start, so a line in the first 250 ms would be dropped.
  let last = -Infinity;
  let shown = false;
  return {
    update(f) {
      const now = performance.now();
      if (now - last < INTERVAL_MS) return;
      last = now;
      const secs = (now - started) / 1000;
      const rate = f['distinct'] ?? f['steps'] ?? 0;
      const parts = Object.entries(f).map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`);
      const unit = f['distinct'] !== undefined ? 'states/s' : 'steps/s';
      parts.push(`${Math.round(rate / Math.max(secs, 1e-3)).toLocaleString('en-US')} ${unit}`);
      parts.push(`mem ${formatBytes(process.memoryUsage.rss())}`);
      parts.push(`${Math.floor(secs / 60)}:${String(Math.floor(secs % 60)).padStart(2, '0')} elapsed`);
      stream.write(`\r\x1b[K${parts.join('  ')}`);
      shown = true;
    },
    clear() {
      if (shown) stream.write('\r\x1b[K');
    },
  };
}

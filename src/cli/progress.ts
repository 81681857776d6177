/** A one-line progress bar on a terminal; periodic plain lines elsewhere (CI logs, pipes). */

export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '--';
  if (s < 60) return `${s.toFixed(0)}s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m}m${String(Math.round(s % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class ProgressLine {
  private lastPlain = 0;
  private readonly tty = !!process.stderr.isTTY;
  constructor(private readonly everyPlainSeconds = 10) {}

  update(done: number, total: number, text: string): void {
    const width = 24;
    const filled = Math.round((done / Math.max(total, 1)) * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total} ${text}`;
    if (this.tty) {
      process.stderr.write(`\r${line.slice(0, (process.stderr.columns ?? 120) - 1).padEnd(Math.min(line.length, 119))}`);
      if (done >= total) process.stderr.write('\n');
      return;
    }
    const now = performance.now() / 1000;
    if (done >= total || now - this.lastPlain >= this.everyPlainSeconds) {
      this.lastPlain = now;
      process.stderr.write(`${line}\n`);
    }
  }
}

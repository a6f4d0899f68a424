// The progress line: drawn only on a terminal, at most a few times a second, erased before the summary.
import { describe, expect, it } from 'vitest';
import { progressLine } from '../checker/report/progress.ts';

function stream(isTTY: boolean): NodeJS.WriteStream & { text: string } {
  const s = { isTTY, text: '', write(chunk: string) { s.text += chunk; return true; } };
  return s as unknown as NodeJS.WriteStream & { text: string };
}

describe('progress line', () => {
  it('draws nothing when the stream is not a terminal', () => {
    expect(progressLine(stream(false))).toBeNull();
  });

  it('shows the figures, throttled, and erases itself', () => {
    const s = stream(true);
    const p = progressLine(s)!;
    p.update({ distinct: 1000, queue: 20, depth: 3 });
    p.update({ distinct: 2000, queue: 30, depth: 4 }); // within 250 ms of the first: dropped
    expect(s.text).toMatch(/^\r\x1b\[Kdistinct 1,000 {2}queue 20 {2}depth 3 {2}[\d,]+ states\/s {2}mem [\d.]+ \w+ {2}0:00 elapsed$/);
    expect(s.text).not.toMatch(/2,000/);
    p.clear();
    expect(s.text.endsWith('\r\x1b[K')).toBe(true);
  });
});

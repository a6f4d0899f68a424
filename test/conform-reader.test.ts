// The conformance reader reads logs 64 KiB at a time: text must come out exactly as written, whatever byte a
// chunk ends on.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLines } from '../checker/conform/reader.ts';

const dir = mkdtempSync(join(tmpdir(), 'conform-reader-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('readLines', () => {
  it('keeps a multi-byte character whole when its bytes straddle two chunks', () => {
    for (const shift of [0, 1, 2, 3]) {
      // 'ü' is 2 bytes, '€' 3, '𝄞' 4: put each across the 65,536-byte boundary at every offset.
      const pad = 'x'.repeat((1 << 16) - 2 - shift);
      const lines = [`${pad}ü€𝄞 value`, '{"a":"ünïcødé"}', 'last line without newline'];
      const file = join(dir, `t${shift}.ndjson`);
      writeFileSync(file, lines.join('\n'));
      const read = [...readLines(file)];
      expect(read.map((l) => l.text)).toStrictEqual(lines);
      expect(read.map((l) => l.line)).toStrictEqual([1, 2, 3]);
      expect(read.some((l) => l.text.includes('\uFFFD'))).toBe(false);
    }
  });
});

// The conformance reader reads logs 64 KiB at a time: text must come out exactly as written, whatever byte a
// chunk ends on.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loggedSteps, planInput, type InputProblem } from '../checker/conform/reader.ts';
import { readLines } from '../traces/reader.ts';

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

describe('version 2 implementation logs', () => {
  const header = (version: number) => JSON.stringify({ type: 'header', format: 'zab-trace', version, source: 'impl', sid: 1, servers: [{ sid: 1, role: 'participant' }], params: { incarnation: 1 }, created: 'now' });
  const event = (seq: number, action: string, extra: Record<string, unknown>) => JSON.stringify({ type: 'event', seq, sid: 1, action, time: 1000 + seq, ...extra });

  it('reads the appends folded into an event as TxnLogAppend events logged just before it, in the same step', () => {
    const file = join(dir, 'v2', 'transitions.0001.ndjson');
    mkdirSync(join(dir, 'v2'), { recursive: true });
    writeFileSync(
      file,
      [
        header(2),
        event(1, 'FollowerProcessPROPOSAL', { appended: ['0x100000001'], rid: '3:1000000016', send: [{ id: '1:1000000074', from: 1, to: 3, type: 'ACK', zxid: '0x100000001' }] }),
        event(2, 'LeaderProcessRequest', { params: { op: 'set', key: 'k', value: 'v', origin: 1 }, appended: ['0x100000002', '0x100000003'] }),
        // No time: the same as the line before's.
        JSON.stringify({ type: 'event', seq: 3, sid: 1, action: 'FollowerProcessCOMMIT', rid: '3:1000000020' }),
      ].join('\n') + '\n',
    );
    const problems: InputProblem[] = [];
    const input = planInput([file], problems);
    const steps = [...loggedSteps(input.streams[0]!, problems)];
    expect(problems).toEqual([]);
    expect(steps.map((s) => s.events.map((e) => `${e.seq}:${e.action}${e.action === 'TxnLogAppend' ? ' ' + String(e.params['zxid']) : ''}`))).toEqual([
      ['1:TxnLogAppend 0x100000001', '1:FollowerProcessPROPOSAL'],
      ['2:TxnLogAppend 0x100000002', '2:TxnLogAppend 0x100000003', '2:LeaderProcessRequest'],
      ['3:FollowerProcessCOMMIT'],
    ]);
    expect(steps[0]!.events[0]!.post).toEqual({ lastZxid: '0x100000001' });
    expect(steps[0]!.events[1]!.rid).toBe('3:1000000016');
    expect(steps[0]!.events[1]!.recv).toBeUndefined();
    expect(steps[1]!.vars['lastZxid']).toBe('0x100000003');
    expect(steps.map((s) => s.events.at(-1)!.time)).toEqual([1001, 1002, 1002]);
  });

  it('reads versions 1, 2 and 3 and rejects another with one line', () => {
    for (const [version, ok] of [[1, true], [2, true], [3, true], [4, false]] as const) {
      const file = join(dir, `version${version}.ndjson`);
      writeFileSync(file, header(version) + '\n' + event(1, 'FLEStartElection', {}) + '\n');
      const problems: InputProblem[] = [];
      if (ok) expect(planInput([file], problems).streams).toHaveLength(1);
      else expect(() => planInput([file], problems)).toThrow(/trace version 4 is not supported \(this reader reads versions 1, 2, 3\)/);
    }
  });
});

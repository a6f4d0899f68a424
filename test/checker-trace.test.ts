// Counterexample traces: written per traces/README.md, read back through the zod schema, message ids that
// pair each receive with its send, a reader that names the file and line of a bad line, and a replay of the
// trace's events that reaches the violation.
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseFlags } from '../checker/flags.ts';
import { replayEvents } from '../checker/report/replay.ts';
import { runCheck } from '../checker/run.ts';
import { loadSpec } from '../checker/spec-source.ts';
import { MessageIds } from '../checker/report/trace-writer.ts';
import { parseTrace, readTrace, replayTraceFile, TraceFormatError } from '../checker/report/trace-reader.ts';

const out = mkdtempSync(join(tmpdir(), 'checker-trace-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));
const source = { module: 'test/fixtures/two-phase-commit.ts', exportName: 'buildTwoPhaseCommit', options: { nodes: 3, mutations: ['commitEarly'] } };

async function counterexampleFile(): Promise<string> {
  const r = await runCheck(parseFlags(['--spec', `${source.module}#${source.exportName}`, '--nodes', '3', '--mutation', 'commitEarly', '--workers', '1', '--out', out]));
  return r.counterexample!.traceFile!;
}

describe('trace files', () => {
  it('writes a header, one event per step and a verdict, valid under the schema', async () => {
    const file = await counterexampleFile();
    const trace = readTrace(file);
    expect(trace.header).toMatchObject({ format: 'zab-trace', version: 3, source: 'check' });
    expect(trace.header.servers.map((s) => s.sid)).toStrictEqual([0, 1, 2, 3]);
    expect(trace.header.params).toMatchObject({ nodes: 3, mutations: ['commitEarly'], mode: 'bfs', depth: 30 });
    expect(trace.events.map((e) => e.seq)).toStrictEqual([1, 2, 3, 4, 5]);
    expect(trace.verdict).toMatchObject({ type: 'verdict', property: 'consistent', kind: 'invariant', holds: false });
    expect(trace.verdict!.message).toMatch(/committed/);
  });

  it('still reports the violation when no trace can be written, and says why', async () => {
    const notADir = join(out, 'a-file');
    writeFileSync(notADir, '');
    const r = await runCheck(parseFlags(['--spec', `${source.module}#${source.exportName}`, '--nodes', '3', '--mutation', 'commitEarly', '--workers', '1', '--out', join(notADir, 'traces')]));
    expect(r.verdict).toBe('fail');
    expect(r.counterexample!.property).toBe('consistent');
    expect(r.counterexample!.traceFile).toBeNull();
    expect(r.counterexample!.traceProblem).toMatch(/^ENOTDIR /);
  });

  it('gives a receive the id of the send it consumes', async () => {
    const trace = readTrace(await counterexampleFile());
    const sent = new Map(trace.events.flatMap((e) => (e.send ?? []).map((m) => [m.id, m])));
    const received = trace.events.flatMap((e) => (e.recv === undefined ? [] : [e.recv]));
    expect(received.length).toBeGreaterThan(0);
    for (const m of received) {
      expect(sent.get(m.id)).toStrictEqual(m);
      expect(m.id).toMatch(new RegExp(`^${m.from}:\\d+$`));
    }
  });

  it('numbers ids per sender and skips messages lost on the channel', () => {
    const ids = new MessageIds();
    const msg = (type: string, from: number, to: number, x: number) => ({ type, from, to, fields: { x } });
    expect(ids.send(msg('A', 1, 2, 1)).id).toBe('1:1');
    expect(ids.send(msg('A', 1, 3, 2)).id).toBe('1:2');
    expect(ids.send(msg('A', 1, 2, 3)).id).toBe('1:3');
    expect(ids.send(msg('B', 2, 1, 1)).id).toBe('2:1');
    expect(ids.recv(msg('A', 1, 2, 3)).id).toBe('1:3'); // 1:1 was lost
    expect(ids.recv(msg('A', 1, 3, 2)).id).toBe('1:2');
    expect(ids.recv(msg('Z', 3, 1, 0)).id).toBe('3:before-1'); // in flight before the trace began
  });

  it('replays the trace events through the spec to the violation', async () => {
    const file = await counterexampleFile();
    const spec = await loadSpec(source);
    const states = replayTraceFile(spec, file);
    expect(states).toHaveLength(6);
    expect(spec.properties.find((p) => p.name === 'consistent')!.check(states.at(-1)!.state)).toBe(false);
  });

  it('refuses a trace whose step the spec cannot take', async () => {
    const spec = await loadSpec(source);
    expect(() => replayEvents(spec, [{ sid: 0, action: 'TMCommit' }])).toThrow(/step 1: no enabled TMCommit of server 0/);
  });

  it('names the file and line of a bad line, and what is wrong with it', async () => {
    const file = await counterexampleFile();
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    const bad = (edit: (ls: string[]) => string[]): string => {
      const f = join(out, `bad-${Math.random().toString(36).slice(2)}.ndjson`);
      writeFileSync(f, edit([...lines]).join('\n') + '\n');
      try {
        readTrace(f);
      } catch (e) {
        expect(e).toBeInstanceOf(TraceFormatError);
        return (e as Error).message.replace(f, 'F');
      }
      throw new Error('accepted a bad trace');
    };
    expect(bad((ls) => [ls[0]!, '{"type":"event","seq":1', ...ls.slice(2)])).toMatch(/^F:2: not JSON/);
    expect(bad((ls) => [ls[0]!, ls[1]!.replace('"seq":1', '"seq":-1'), ...ls.slice(2)])).toMatch(/^F:2: seq: /);
    expect(bad((ls) => [ls[0]!, ls[1]!.replace('"action":"RMPrepare"', '"action":""'), ...ls.slice(2)])).toMatch(/^F:2: action: /);
    expect(bad((ls) => [ls[0]!.replace('"version":3', '"version":9'), ...ls.slice(1)])).toMatch(/^F:1: trace version 9 is not supported/);
    expect(bad((ls) => ls.slice(1))).toMatch(/^F:1: expected the header line/);
    expect(bad((ls) => [...ls, ls[1]!])).toMatch(new RegExp(`^F:${lines.length + 1}: an event line after the verdict`));
    expect(() => parseTrace('', 'empty.ndjson')).toThrow('empty.ndjson:1: empty file');
  });
});

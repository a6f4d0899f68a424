// Data-driven scenarios of the protocol core (etcd raft's testdata style): each file in impl/testdata holds
// stanzas `command args` / `----` / expected output, run in order against one simulated ensemble.
// Regenerate the expectations after an intended change with: REWRITE=1 npx vitest run test/impl-scenarios
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SimCluster, createRequest, sessionRequest } from '../impl/sim.ts';
import { errorName } from '../impl/zkwire/codes.ts';
import type { CoreTraceEvent, LearnerType, Sid } from '../impl/core/types.ts';

const DIR = join(import.meta.dirname, '..', 'impl', 'testdata');

interface Stanza {
  readonly cmd: string;
  readonly expected: string;
}

function parse(text: string): Stanza[] {
  const out: Stanza[] = [];
  const blocks = text.split(/\n\n+(?=\S)/);
  for (const block of blocks) {
    const lines = block.split('\n').filter((l) => !l.startsWith('#'));
    const sep = lines.indexOf('----');
    if (sep < 0) continue;
    out.push({ cmd: lines.slice(0, sep).join(' ').trim(), expected: lines.slice(sep + 1).join('\n').trim() });
  }
  return out;
}

function fmtMsg(m: Record<string, unknown>): string {
  const skip = new Set(['id', 'from', 'to', 'type']);
  const fields = Object.entries(m)
    .filter(([k]) => !skip.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  return [`${m['from']}->${m['to']} ${m['type']}`, ...fields].join(' ');
}

function fmtEvent(e: CoreTraceEvent): string {
  const parts = [e.action];
  for (const [k, v] of Object.entries(e.params ?? {})) parts.push(`${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`);
  if (e.recv) parts.push(`<- [${fmtMsg(e.recv)}]`);
  for (const m of e.send ?? []) parts.push(`-> [${fmtMsg(m)}]`);
  return parts.join(' ');
}

class Runner {
  sim: SimCluster | null = null;
  private traceSeen = new Map<Sid, number>();
  private repliesSeen = new Set<string>();
  private req = 0;
  private session = false;

  run(cmd: string): string {
    const [name, ...args] = cmd.split(/\s+/);
    const kv = Object.fromEntries(args.filter((a) => a.includes('=')).map((a) => a.split('=') as [string, string]));
    const pos = args.filter((a) => !a.includes('='));
    const sim = () => this.sim ?? (() => { throw new Error('start first'); })();
    switch (name) {
      case 'start': {
        const servers = new Map<Sid, LearnerType>();
        const n = Number(kv['servers'] ?? 3);
        for (let i = 1; i <= n; i++) servers.set(i, 'participant');
        for (let i = 1; i <= Number(kv['observers'] ?? 0); i++) servers.set(n + i, 'observer');
        this.sim = new SimCluster({ seed: Number(kv['seed'] ?? 1), servers, commitLogCount: Number(kv['commitLogCount'] ?? 500) });
        this.sim.start();
        return '';
      }
      case 'run':
        sim().runFor(Number(pos[0]));
        return this.states();
      case 'write': {
        const [sid, key, value] = pos as [string, string, string];
        const count = Number(kv['count'] ?? 1);
        // The clients' session is opened by the first write, through the same server (a txn of its own).
        if (!this.session) sim().write(Number(sid), ++this.req, sessionRequest());
        this.session = true;
        for (let i = 0; i < count; i++) sim().write(Number(sid), ++this.req, createRequest(count > 1 ? `${key}${i}` : key, value));
        return '';
      }
      case 'replies': {
        const lines: string[] = [];
        for (const [id, r] of sim().replies) {
          if (this.repliesSeen.has(id)) continue;
          this.repliesSeen.add(id);
          lines.push(`${id} ${r.ok ? `ok 0x${r.zxid.toString(16)}${r.applied.rc.err ? ` ${errorName(r.applied.rc.err)}` : ''}` : `error ${r.error}`}`);
        }
        return lines.join('\n');
      }
      case 'crash':
        sim().crash(Number(pos[0]));
        return '';
      case 'restart':
        sim().restart(Number(pos[0]));
        return '';
      case 'partition':
      case 'heal':
        sim().partition(Number(pos[0]), Number(pos[1]), name === 'partition');
        return '';
      case 'trace': {
        // trace SID [ActionPrefix ...]: the events since the last `trace SID`, filtered by action prefix.
        const sid = Number(pos[0]);
        const events = sim().nodes.get(sid)!.trace;
        const from = this.traceSeen.get(sid) ?? 0;
        this.traceSeen.set(sid, events.length);
        const prefixes = pos.slice(1);
        return events
          .slice(from)
          .filter((e) => prefixes.length === 0 || prefixes.some((p) => e.action.startsWith(p)))
          .map(fmtEvent)
          .join('\n');
      }
      case 'data': {
        const tree = sim().nodes.get(Number(pos[0]))!.peer.db.tree;
        const keys = tree.getChildren('/')!.filter((k) => k !== 'zookeeper').sort();
        return keys.map((k) => `${k}=${tree.getNode('/' + k)!.data?.toString()}`).join(' ') || '(empty)';
      }
      default:
        throw new Error(`unknown command ${name}`);
    }
  }

  private states(): string {
    return [...this.sim!.nodes]
      .map(([sid, n]) => {
        if (!n.up) return `${sid} DOWN`;
        const p = n.peer;
        const serving = p.leader ? p.leader.phase === 'broadcast' : p.learner ? p.learner.phase === 'broadcast' : false;
        return `${sid} ${p.state}${p.state === 'LOOKING' ? '' : ` leader=${p.currentVote?.leader}`}${serving ? ' serving' : ''} epoch=${p.currentEpoch}/${p.acceptedEpoch} lastZxid=0x${p.lastLoggedZxid.toString(16)} committed=0x${p.db.lastProcessedZxid.toString(16)}`;
      })
      .join('\n');
  }
}

describe('impl/testdata scenarios', () => {
  for (const file of readdirSync(DIR).filter((f) => f.endsWith('.txt')).sort()) {
    it(file, () => {
      const path = join(DIR, file);
      const text = readFileSync(path, 'utf8');
      const runner = new Runner();
      const stanzas = parse(text);
      expect(stanzas.length).toBeGreaterThan(0);
      const actual = stanzas.map((s) => ({ cmd: s.cmd, out: runner.run(s.cmd) }));
      if (process.env['REWRITE']) {
        // Keep the file's comments: rewrite only the output part of each stanza.
        let i = 0;
        const rewritten = text.replace(/^([^#\n][^\n]*)\n----\n((?:[^\n]+\n?)*)/gm, (_m, cmd: string) => `${cmd}\n----\n${actual[i++]!.out}${actual[i - 1]!.out ? '\n' : ''}`);
        writeFileSync(path, rewritten);
        return;
      }
      stanzas.forEach((s, i) => expect(actual[i]!.out, `${file}: ${s.cmd}`).toBe(s.expected));
    });
  }
});

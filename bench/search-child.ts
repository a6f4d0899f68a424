// One measurement of `npm run bench`, in its own process so that its peak memory is its own: runs the checker
// with the flags given (and, for the bench only, a time budget) and prints the RunResult as JSON.
import { parseFlags } from '../checker/flags.ts';
import { formatJson } from '../checker/report/report.ts';
import { runCheck } from '../checker/run.ts';

const { flags, timeLimitSeconds } = JSON.parse(process.argv[2] ?? '{}') as { flags: string[]; timeLimitSeconds?: number };
try {
  const cpu0 = process.cpuUsage();
  const result = await runCheck({ ...parseFlags(flags), timeLimitSeconds: timeLimitSeconds ?? null });
  const cpu = process.cpuUsage(cpu0);
  // CPU time of all threads: with other work on the machine, states per CPU-second still compares runs.
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;
  process.stdout.write(formatJson(result).replace(/}$/, `,"cpuSeconds":${cpuSeconds}}`) + '\n');
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 3;
}

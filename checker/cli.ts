// `npm run check -- [flags]`: parse the flags, run the checker, print the verdict. Exit status: 0 pass,
// 1 a violation or a vacuous reachability property, 2 bad usage, 3 the spec or the checker failed.
import { helpText, parseFlags, UsageError } from './flags.ts';
import { progressLine } from './progress.ts';
import { formatJson, formatText } from './report.ts';
import { runCheck } from './run.ts';
import { DEFAULT_SPEC_MODULE, loadMutations, SpecLoadError } from './spec-source.ts';
import { listVariants } from '../spec/variants.ts';

async function main(argv: readonly string[]): Promise<number> {
  let config;
  try {
    config = parseFlags(argv);
  } catch (e) {
    return usage(e);
  }
  if (config.help) {
    const mutations = await loadMutations(config.source.module ?? DEFAULT_SPEC_MODULE).catch(() => ({}));
    process.stdout.write(helpText(mutations) + '\n');
    return 0;
  }
  if (config.listVariants) {
    process.stdout.write(listVariants() + '\n');
    return 0;
  }
  const progress = progressLine();
  try {
    const result = await runCheck(config, (f) => progress?.update(f));
    progress?.clear();
    process.stdout.write((config.json ? formatJson(result) : formatText(result)) + '\n');
    return result.verdict === 'pass' ? 0 : 1;
  } catch (e) {
    progress?.clear();
    if (e instanceof UsageError || e instanceof SpecLoadError) return usage(e);
    process.stderr.write(`check: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
}

function usage(e: unknown): number {
  process.stderr.write(`check: ${e instanceof Error ? e.message : String(e)} (see --help)\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));

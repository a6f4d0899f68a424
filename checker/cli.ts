// `npm run check -- [flags]`: parse the flags, run the checker, print the verdict. Exit status: 0 pass,
// 1 a violation or a vacuous reachability property, 2 bad usage, 3 the spec or the checker failed.
import { helpText, parseFlags, UsageError } from './flags.ts';
import { progressLine } from './report/progress.ts';
import { CheckpointError } from './search/checkpoint.ts';
import { formatJson, formatText } from './report/report.ts';
import { runCheck } from './run.ts';
import { DEFAULT_SPEC_MODULE, loadMutations, SpecLoadError } from './spec-source.ts';
import { listVariants } from '../spec/variants.ts';
import { wantsHelp } from '../impl/usage.ts';

async function main(argv: readonly string[]): Promise<number> {
  if (wantsHelp(argv)) {
    // Help wins over every other flag; a valid --spec still picks whose mutations it lists.
    let module = DEFAULT_SPEC_MODULE;
    try {
      module = parseFlags(argv).source.module ?? module;
    } catch {
      // a bad flag next to --help: the default spec's mutations
    }
    const mutations = await loadMutations(module).catch(() => ({}));
    process.stdout.write(helpText(mutations) + '\n');
    return 0;
  }
  let config;
  try {
    config = parseFlags(argv);
  } catch (e) {
    return usage(e);
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
    if (e instanceof CheckpointError) {
      process.stderr.write(`check: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`check: error: ${e instanceof Error ? e.message : String(e)}\n`);
    return 3;
  }
}

function usage(e: unknown): number {
  process.stderr.write(`check: ${e instanceof Error ? e.message : String(e)} (see --help)\n`);
  return 2;
}

process.exitCode = await main(process.argv.slice(2));

// `weaver check -c config.yaml`: everything `run` would reject at startup, reported at once and
// without binding a port: YAML, schema, cross-references, and every certificate.
import { parseArgs } from 'node:util';
import { checkConfig } from '../proxy/config/check.ts';
import { formatIssue } from '../proxy/errors.ts';

export { checkConfig, type CheckCounts, type CheckResult } from '../proxy/config/check.ts';

const usage = 'usage: weaver check [-c|--config] FILE\n';

function count(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

export async function checkCommand(args: string[]): Promise<number> {
  let file: string;
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      allowPositionals: true,
      strict: true,
    });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    if (positionals.length > 1 || (values.config !== undefined && positionals.length > 0)) {
      throw new Error('give one config file');
    }
    file = values.config ?? positionals[0] ?? 'weaver.yaml';
  } catch (err) {
    process.stderr.write(`weaver check: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  const result = await checkConfig(file);
  if (!result.ok) {
    for (const issue of result.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    return 1;
  }
  const c = result.counts;
  process.stdout.write(
    `ok: ${file} (${count(c.listeners, 'listener')}, ${count(c.pools, 'pool')}, ${count(c.routes, 'route')}, ` +
      `${count(c.upstreams, 'upstream')}, ${count(c.plugins, 'plugin')})\n`,
  );
  return 0;
}

// `weaver audit verify FILE…`: checks a segmentation audit log (rotated files oldest first,
// the current file last); exit 0 when the chain is intact, 1 naming the first bad record.
import { parseArgs } from 'node:util';
import { verifyAudit } from '../plugins/segmentation/audit-verify.ts';

const usage = 'usage: weaver audit verify FILE… (oldest first)\n';

export async function auditCommand(args: string[]): Promise<number> {
  let files: string[];
  try {
    const { values, positionals } = parseArgs({ args, options: { help: { type: 'boolean', short: 'h' } }, allowPositionals: true, strict: true });
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const [sub, ...rest] = positionals;
    if (sub !== 'verify') throw new Error(sub ? `unknown sub-command "${sub}"` : 'give a sub-command');
    if (rest.length === 0) throw new Error('give at least one file');
    files = rest;
  } catch (err) {
    process.stderr.write(`weaver audit: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  let result;
  try {
    result = verifyAudit(files);
  } catch (err) {
    process.stderr.write(`weaver audit: ${(err as Error).message}\n`);
    return 2;
  }
  if (result.ok) {
    process.stdout.write(`ok: ${result.records} records, chain intact\n`);
    return 0;
  }
  const b = result.bad!;
  process.stderr.write(`${b.file}:${b.line}: record ${b.seq ?? '?'}: ${b.problem}\n`);
  return 1;
}

// The project's one test command: lint, typecheck, the tap suite, then the closing line
// `N passed, N failed` that CI reads (tap's own summary does not count by itself).
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Parser } from 'tap-parser';

const root = new URL('..', import.meta.url).pathname;
const resultsDir = join(root, '.tap', 'test-results');
let passed = 0;
let failed = 0;

function step(name: string, cmd: string, args: string[]): number {
  process.stdout.write(`\n== ${name}: ${cmd} ${args.join(' ')}\n`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: process.env });
  return r.status ?? 1;
}

function gate(name: string, cmd: string, args: string[]): void {
  if (step(name, cmd, args) === 0) passed++;
  else {
    failed++;
    process.stdout.write(`${name} FAILED\n`);
  }
}

function listFiles(dir: string, suffix: string): string[] {
  let out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const p = join(dir, entry);
    if (statSync(p).isDirectory()) out = out.concat(listFiles(p, suffix));
    else if (p.endsWith(suffix)) out.push(p);
  }
  return out;
}

// Each top-level point of each test file counts once: a `t.test(...)` block or a bare assertion.
function countResults(): { pass: number; fail: number; files: number } {
  let pass = 0;
  let fail = 0;
  const files = listFiles(resultsDir, '.tap');
  for (const file of files) {
    const parser = new Parser();
    let filePoints = 0;
    parser.on('assert', (res: { ok: boolean; skip?: unknown; todo?: unknown }) => {
      filePoints++;
      if (res.ok || res.skip || res.todo) pass++;
      else fail++;
    });
    parser.on('complete', (final: { ok: boolean; bailout?: unknown }) => {
      // A file that crashed before or after its points still fails once.
      if (!final.ok && (filePoints === 0 || final.bailout)) fail++;
    });
    parser.end(readFileSync(file));
  }
  return { pass, fail, files: files.length };
}

// tap expands a folder only to the extensions of its loaders; ours are .ts, so expand here.
function expand(arg: string): string[] {
  const full = join(root, arg);
  try {
    if (statSync(full).isDirectory()) return listFiles(full, '.test.ts').map((f) => f.slice(root.length));
  } catch {
    // not a path: a glob or a tap option, passed through as is
  }
  return [arg];
}
const selected = process.argv.slice(2).flatMap(expand);
if (selected.length === 0) {
  gate('lint', 'eslint', ['.']);
  gate('typecheck', 'tsc', ['--noEmit', '-p', '.']);
}
rmSync(resultsDir, { recursive: true, force: true });
step('tap build', 'tap', ['build']);
const tapStatus = step('tests', 'tap', ['-R', process.env.CI ? 'tap' : 'base', ...selected]);
const r = countResults();
passed += r.pass;
failed += r.fail;
if (tapStatus !== 0 && r.fail === 0) failed++;
process.stdout.write(`\n${r.files} test files\n${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 ? 0 : 1);

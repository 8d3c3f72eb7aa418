// `weaver ata evaluate`: how well the traffic analyzer's detectors separate attacks from normal
// traffic on labelled data (NSL-KDD, or flow records as JSON lines). Unsupervised by default —
// the isolation forest is fit on the normal training rows only — or supervised (boosted stumps
// fit on normal and attack rows). Thresholds come from training data only (see evaluate.ts).
import { readFile, stat } from 'node:fs/promises';
import { evaluate, splitHoldout, type Example } from '../plugins/segmentation/analyzer/evaluate.ts';
import { parseLabelledFlows, replayFeatures } from '../plugins/segmentation/analyzer/labelled-flows.ts';
import { NslKddEncoder, parseNslKdd, type NslKddRow } from '../plugins/segmentation/analyzer/nslkdd.ts';
import { WeaverError } from '../proxy/errors.ts';

const usage = `Usage: weaver ata evaluate --train FILE (--test FILE | --holdout FRACTION) --format nsl-kdd|jsonl
                           [--supervised] [--seed N] [--features all|proxy] [--trees N] [--sample-size N]
  --train FILE       labelled rows to learn from (unsupervised: only the rows labelled normal)
  --test FILE        labelled rows to score; rows also present in --train are dropped (counted)
  --holdout F        instead of --test: hold out this fraction (0..1) of --train, split by --seed
  --format           nsl-kdd (KDDTrain+.txt style CSV) or jsonl (flow records with "label")
  --supervised       fit boosted stumps on normal and attack rows instead of an isolation forest
  --seed N           split and model seed (default 1)
  --features proxy   nsl-kdd only: just what a proxy sees without payloads (default all)
  --trees N, --sample-size N   isolation forest size (default 100, 256)
Thresholds for 1 % and 5 % false positives are set on a calibration slice (20 %) of the training
rows that the model is not fit on. Prints one JSON document.
`;

const DATA_ERROR = 'WEAVER_ERR_ATA_INPUT';
const MAX_FILE_BYTES = 1024 * 1024 * 1024;
const WINDOWS = { windowMs: 10_000, maxSources: 1_000_000, maxFlowsPerSource: 4_096 };

interface Options {
  train: string;
  test?: string;
  holdout?: number;
  format: 'nsl-kdd' | 'jsonl';
  supervised: boolean;
  seed: number;
  features: 'all' | 'proxy';
  trees: number;
  sampleSize: number;
}

/** One labelled row; NSL-KDD rows get their numbers once the encoder has seen the training rows. */
interface Loaded {
  key: string;
  category: string;
  malicious: boolean;
  row?: NslKddRow;
  x?: Float64Array;
}

export async function ataCommand(args: string[]): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h' || args.length === 0) {
    process.stdout.write(usage);
    return args.length === 0 ? 2 : 0;
  }
  if (args[0] !== 'evaluate') return badUsage(`unknown sub-command "${args[0]}"`);
  const parsed = parseArgs(args.slice(1));
  if (typeof parsed === 'string') return parsed === 'help' ? (process.stdout.write(usage), 0) : badUsage(parsed);
  try {
    process.stdout.write(`${JSON.stringify(await run(parsed), null, 2)}\n`);
    return 0;
  } catch (err) {
    const code = err instanceof WeaverError ? err.code : 'WEAVER_ERR_ATA';
    process.stderr.write(`weaver ata: ${code}: ${(err as Error).message}\n`);
    return 1;
  }
}

async function run(o: Options): Promise<Record<string, unknown>> {
  const started = Date.now();
  const trainFile = await load(o.train, o);
  let train = trainFile.rows;
  let test: Loaded[];
  let overlapRemoved = 0;
  const skippedLines = { train: trainFile.skipped, test: 0 };
  if (o.test !== undefined) {
    const keys = new Set(train.map((r) => r.key));
    const testFile = await load(o.test, o);
    test = testFile.rows.filter((r) => !keys.has(r.key));
    overlapRemoved = testFile.rows.length - test.length;
    skippedLines.test = testFile.skipped;
  } else {
    ({ train, test } = splitHoldout(train, o.holdout!, o.seed));
  }
  if (test.length === 0) throw new WeaverError(DATA_ERROR, `no test rows left${overlapRemoved ? ` (all ${overlapRemoved} are also in --train)` : ''}`);
  if (o.format === 'nsl-kdd') {
    // The one-hot vocabularies come from the training rows only.
    const encoder = new NslKddEncoder({ proxyVisibleOnly: o.features === 'proxy' }).fit(train.map((r) => r.row!));
    for (const r of [...train, ...test]) r.x = encoder.encode(r.row!);
  }
  const examples = (rows: Loaded[]): Example[] => rows.map((r) => ({ x: r.x!, malicious: r.malicious, category: r.category }));
  const result = evaluate(examples(train), examples(test), { supervised: o.supervised, seed: o.seed, calibration: 0.2, trees: o.trees, sampleSize: o.sampleSize });
  return {
    format: o.format,
    features: o.format === 'nsl-kdd' ? o.features : 'flow',
    train: o.train,
    test: o.test ?? { holdoutOf: o.train, fraction: o.holdout, seed: o.seed },
    overlapRemoved,
    skippedLines,
    ...result,
    elapsedMs: Date.now() - started,
  };
}

async function load(file: string, o: Options): Promise<{ rows: Loaded[]; skipped: number }> {
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > MAX_FILE_BYTES) throw new WeaverError(DATA_ERROR, `${file}: ${size} bytes, over ${MAX_FILE_BYTES}`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof WeaverError) throw err;
    throw new WeaverError(DATA_ERROR, `${file}: ${(err as Error).message}`);
  }
  let rows: Loaded[];
  let parsed: { skipped: number; errors: Array<{ line: number; message: string }> };
  if (o.format === 'nsl-kdd') {
    const p = (parsed = parseNslKdd(text));
    rows = p.rows.map((row) => ({ key: row.line, category: row.category, malicious: row.label !== 'normal', row }));
  } else {
    const p = (parsed = parseLabelledFlows(text));
    const x = replayFeatures(p.rows, WINDOWS);
    rows = p.rows.map((f, i) => ({ key: f.key, category: f.category, malicious: f.label !== 'normal', x: x[i]! }));
  }
  for (const e of parsed.errors.slice(0, 5)) process.stderr.write(`weaver ata: ${file}:${e.line}: ${e.message} (skipped)\n`);
  if (rows.length === 0) throw new WeaverError(DATA_ERROR, `${file}: no usable rows as ${o.format}`);
  return { rows, skipped: parsed.skipped };
}

const VALUE_FLAGS = new Set(['--train', '--test', '--holdout', '--format', '--features', '--seed', '--trees', '--sample-size']);

function parseArgs(args: string[]): Options | string {
  const o: Partial<Options> = { supervised: false, seed: 1, features: 'all', trees: 100, sampleSize: 256 };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--help' || arg === '-h') return 'help';
    if (arg === '--supervised') {
      o.supervised = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const flag = eq > 0 ? arg.slice(0, eq) : arg;
    if (!VALUE_FLAGS.has(flag)) return `unknown argument "${arg}"`;
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) return `${flag} needs a value`;
    const int = (min: number, max: number): number | string => {
      const n = Number(value);
      return Number.isInteger(n) && n >= min && n <= max ? n : `${flag} must be an integer from ${min} to ${max}`;
    };
    let r: number | string | undefined;
    switch (flag) {
      case '--train': o.train = value; break;
      case '--test': o.test = value; break;
      case '--holdout': {
        const f = Number(value);
        if (!(f > 0 && f < 1)) return '--holdout must be a fraction between 0 and 1';
        o.holdout = f;
        break;
      }
      case '--format':
        if (value !== 'nsl-kdd' && value !== 'jsonl') return '--format must be nsl-kdd or jsonl';
        o.format = value;
        break;
      case '--features':
        if (value !== 'all' && value !== 'proxy') return '--features must be all or proxy';
        o.features = value;
        break;
      case '--seed': r = int(0, 2 ** 31 - 1); if (typeof r === 'number') o.seed = r; break;
      case '--trees': r = int(1, 1_000); if (typeof r === 'number') o.trees = r; break;
      case '--sample-size': r = int(2, 65_536); if (typeof r === 'number') o.sampleSize = r; break;
    }
    if (typeof r === 'string') return r;
  }
  if (!o.train) return '--train is required';
  if (!o.format) return '--format is required';
  if ((o.test === undefined) === (o.holdout === undefined)) return 'give exactly one of --test and --holdout';
  return o as Options;
}

function badUsage(message: string): number {
  process.stderr.write(`weaver ata: ${message}\n\n${usage}`);
  return 2;
}

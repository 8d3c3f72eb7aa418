// `weaver segmentation export --format nft -c config.yaml`: the segmentation policy of a
// config — its segments and rules plus the rules and entries stored by the API or the
// analyzer in the state store — as an nftables ruleset on stdout.
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../proxy/config/load.ts';
import { formatIssue, ConfigError } from '../proxy/errors.ts';
import { resolvePlugin } from '../proxy/plugin/load.ts';
import { openStateStore } from '../proxy/store/open.ts';
import { loadConfigPolicy } from '../plugins/segmentation/build.ts';
import { Controller } from '../plugins/segmentation/controller.ts';
import { exportNft } from '../plugins/segmentation/nft.ts';
import type { SegmentationOptions } from '../plugins/segmentation/options.ts';

const usage = 'usage: weaver segmentation export --format nft [-c|--config] FILE [--plugin NAME] [--table NAME]\n';

export async function segmentationCommand(args: string[]): Promise<number> {
  let values;
  let file: string;
  try {
    const parsed = parseArgs({
      args,
      options: {
        config: { type: 'string', short: 'c' },
        format: { type: 'string', default: 'nft' },
        plugin: { type: 'string', default: 'segmentation' },
        table: { type: 'string', default: 'weaver_seg' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values;
    if (values.help) {
      process.stdout.write(usage);
      return 0;
    }
    const [sub, ...rest] = parsed.positionals;
    if (sub !== 'export') throw new Error(sub ? `unknown sub-command "${sub}"` : 'give a sub-command');
    if (values.format !== 'nft') throw new Error(`unknown format "${values.format}" (nft is the one there is)`);
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,31}$/.test(values.table!)) throw new Error('--table must be an nft identifier');
    file = values.config ?? rest[0] ?? 'weaver.yaml';
  } catch (err) {
    process.stderr.write(`weaver segmentation: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  try {
    const loaded = await loadConfigFile(file);
    const entry = loaded.config.plugins.find((p) => (p.name ?? '') === values.plugin || /segmentation(\/index\.ts)?$/.test(p.use));
    if (!entry) throw new Error(`${file} loads no plugin named "${values.plugin}"`);
    const resolved = await resolvePlugin(entry, loaded.dir);
    const store = openStateStore(loaded.config);
    try {
      const ctl = new Controller({ maxRules: Number.MAX_SAFE_INTEGER, cutLiveFlows: false, maxDenyKeys: 1 }, { store: store.namespace(resolved.name) });
      const feeds = loadConfigPolicy(ctl, resolved.options as SegmentationOptions, loaded.dir);
      await ctl.restore(false);
      await feeds.start();
      feeds.stop();
      for (const f of feeds.status()) if (!f.ok) process.stderr.write(`weaver segmentation: feed ${f.name} (${f.source}) not loaded: ${f.lastError?.message ?? 'unknown error'}\n`);
      process.stdout.write(exportNft(ctl.engine, { table: values.table }));
    } finally {
      await store.close();
    }
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) for (const issue of err.issues) process.stderr.write(`${formatIssue(issue)}\n`);
    else process.stderr.write(`weaver segmentation: ${(err as Error).message}\n`);
    return 1;
  }
}

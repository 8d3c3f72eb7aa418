// Threat-intel feeds as segments: each configured feed gets a segment `feed:<name>` holding
// the entries it lists for denial and one `feed:<name>:flag` for the entries only flagged
// (the feed's action is flag, or a listed JA3 that benign software also has), each with a rule
// from that segment — deny, or flag (tag seg.flag). A refresh replaces the feed's entries in
// one step, with one audit record per segment, attributed to `feed:<name>`.
import type { Controller } from './controller.ts';
import { FeedLoader } from './intel/loader.ts';
import type { IntelOptions } from './intel/options.ts';
import type { Logger } from './controller.ts';

export function attachFeeds(ctl: Controller, options: IntelOptions, baseDir: string, priority: number, log?: Logger): FeedLoader {
  for (const feed of options.feeds) {
    for (const action of ['deny', 'flag'] as const) {
      const name = action === 'deny' ? `feed:${feed.name}` : `feed:${feed.name}:flag`;
      ctl.engine.addSegment(name, {}, `feed:${feed.name}`);
      const reason = `listed by feed ${feed.name}${action === 'flag' ? ' (flag only)' : ''}`;
      ctl.engine.addRule(ctl.compile({ id: name, from: { segment: name }, action, priority, reason }, `feed:${feed.name}`));
    }
  }
  return new FeedLoader({
    options,
    baseDir,
    log,
    onUpdate(feed, entries, info) {
      const who = `feed:${feed}`;
      const detail = { source: info.source, format: info.format, skipped: info.skipped, collisions: info.collisions.length };
      for (const action of ['deny', 'flag'] as const) {
        const seg = ctl.engine.segment(action === 'deny' ? `feed:${feed}` : `feed:${feed}:flag`)!;
        const list = entries.filter((e) => e.action === action).map((e) => (e.kind === 'cidr' ? { kind: 'cidr' as const, value: e.cidr } : { kind: 'ja3' as const, value: e.ja3 }));
        ctl.replaceEntries(seg, list, who, detail);
      }
    },
  });
}

// The policy the config describes, put into a controller: used by the plugin's setup and by
// `weaver segmentation export`, so both see the same segments and rules.
import type { Controller, Logger } from './controller.ts';
import { attachFeeds } from './feeds.ts';
import type { FeedLoader } from './intel/loader.ts';
import type { SegmentationOptions } from './options.ts';

/** Segments, config rules and the feeds' segments and rules; the returned loader fills the feeds. */
export function loadConfigPolicy(ctl: Controller, o: SegmentationOptions, configDir: string, log?: Logger): FeedLoader {
  for (const [name, seg] of Object.entries(o.segments)) ctl.engine.addSegment(name, seg, 'config');
  o.rules.forEach((raw, i) => ctl.engine.addRule(ctl.compile(raw, 'config', raw.id ?? `config-${i + 1}`)));
  return attachFeeds(ctl, o.intel, configDir, o.feedPriority, log);
}

// Saving the engine's state through api.store and loading it at start: profiles (changed ones
// worth it, on a timer, as arrays of numbers), labels (at once), server reputation; and, with the slower saves and at stop, the
// newest rows of the training window (so a restarted Weaver scores with a trained forest at
// once instead of warming up again), the per-fingerprint hour signals (so a fingerprint's
// sources, rates and rank do not start from zero) and the client-random tracker (so a hello
// replayed across a restart is still a replay). Cipher orders rebuild from the first clean
// hello of each cipher set.
import type { PluginStore } from 'weaver';
import type { Engine, Label, LabelKind } from './engine.ts';
import { VECTOR_SIZE } from './features.ts';
import type { PrintSnapshot } from './fingerprints.ts';
import type { WindowRow } from './model.ts';
import { copyProfile, hash31 } from './profiles.ts';
import type { RandomSnapshot } from './randomness.ts';

const WINDOW_ROWS_SAVED = 2_000;
const PRINTS_SAVED = 2_000;

export async function restore(engine: Engine, store: PluginStore): Promise<Record<string, number>> {
  const now = Date.now();
  let addresses = await engine.addresses.restore(store);
  const clients = await engine.clients.restore(store);
  // An address seen with one fingerprint only was not saved: its address+JA4 profile says it all
  // (less what only an address+JA4 profile counts: errors, the class).
  for (const [key, c] of [...engine.clients.entries()]) {
    const at = key.lastIndexOf('|');
    if (engine.addresses.fill(key.slice(0, at), { ...copyProfile(c), prints: 0, lastPrint: hash31(key.slice(at + 1)), burst: 0, errors: 0, cls: 0 })) addresses++;
  }
  let labels = 0;
  for await (const [key, label] of store.entries<Label>('label:')) {
    const k = key.slice('label:'.length);
    const at = k.indexOf(':');
    const kind = k.slice(0, at);
    if (kind !== 'addr' && kind !== 'ja4' && kind !== 'ja3') continue;
    engine.labels.set(kind, k.slice(at + 1), label);
    labels++;
  }
  engine.reputation.restore(await store.get('reputation'));
  const rows = (await store.get<WindowRow[]>('window')) ?? [];
  let windowRows = 0;
  for (const row of rows) {
    if (row.v.length !== VECTOR_SIZE) continue; // saved by a version with other features
    engine.model.record(row);
    windowRows++;
  }
  const fingerprints = engine.prints.restore(await store.get<Array<[string, PrintSnapshot]>>('fingerprints'), now);
  const randoms = engine.randoms.restore(await store.get<RandomSnapshot>('randoms'), now);
  return { addresses, clients, labels, windowRows, fingerprints, randoms };
}

export async function saveLabel(store: PluginStore, kind: LabelKind, value: string, label: Label): Promise<void> {
  if (label === 0) await store.delete(`label:${kind}:${value}`);
  else await store.set(`label:${kind}:${value}`, label);
}

/**
 * Changed profiles and the reputation; `full` adds the window, the fingerprints and the randoms;
 * `final` (at stop) writes every changed profile, not only those with something lasting new.
 */
export async function save(engine: Engine, store: PluginStore, full: boolean, final = false): Promise<void> {
  // An address with one fingerprint and no label of its own is its address+JA4 profile over
  // again: restore rebuilds it from that, so only half the rows are written.
  await engine.addresses.save(store, (p) => p.prints === 0 && p.label === 0, final);
  await engine.clients.save(store, undefined, final);
  await store.set('reputation', engine.reputation.toJSON());
  if (!full) return;
  await store.set('window', engine.model.snapshot(WINDOW_ROWS_SAVED));
  await store.set('fingerprints', engine.prints.snapshot(PRINTS_SAVED, Date.now()));
  await store.set('randoms', engine.randoms.snapshot());
}

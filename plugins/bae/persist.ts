// Saving the engine's state through api.store and loading it at start: profiles (changed ones,
// on a timer), labels (at once), server reputation, and the newest rows of the training window
// so a restarted Weaver scores with a trained forest at once instead of warming up again.
// Fingerprint hour signals, the random tracker and cipher orders are not saved: they describe
// the last minutes or hour and rebuild from traffic.
import type { PluginStore } from 'weaver';
import type { Engine, Label } from './engine.ts';
import { VECTOR_NAMES } from './features.ts';
import type { WindowRow } from './model.ts';

const WINDOW_ROWS_SAVED = 2_000;

export async function restore(engine: Engine, store: PluginStore): Promise<Record<string, number>> {
  const addresses = await engine.addresses.restore(store);
  const clients = await engine.clients.restore(store);
  let labels = 0;
  for await (const [key, label] of store.entries<Label>('label:')) {
    const k = key.slice('label:'.length);
    engine.labels.set(k, label);
    const at = k.indexOf(':');
    const kind = k.slice(0, at);
    if (kind === 'ja4' || kind === 'ja3') engine.lists.add(k.slice(at + 1), label === 1 ? 'good' : 'bad', 'feedback');
    labels++;
  }
  engine.reputation.restore(await store.get('reputation'));
  const rows = (await store.get<WindowRow[]>('window')) ?? [];
  let windowRows = 0;
  for (const row of rows) {
    if (row.v.length !== VECTOR_NAMES.length) continue; // saved by a version with other features
    engine.model.record(row);
    windowRows++;
  }
  return { addresses, clients, labels, windowRows };
}

export async function saveLabel(store: PluginStore, key: string, label: Label): Promise<void> {
  if (label === 0) await store.delete(`label:${key}`);
  else await store.set(`label:${key}`, label);
}

export async function save(engine: Engine, store: PluginStore, withWindow: boolean): Promise<void> {
  await engine.addresses.save(store);
  await engine.clients.save(store);
  await store.set('reputation', engine.reputation.toJSON());
  if (withWindow) await store.set('window', engine.model.snapshot(WINDOW_ROWS_SAVED));
}

import type { TSchema } from '@sinclair/typebox';
import type { PluginDefinition } from './types.ts';

/** Identity at run time; gives a plugin its types (options inferred from the schema). */
export function definePlugin<S extends TSchema>(definition: PluginDefinition<S>): PluginDefinition<S> {
  return definition;
}

// Shuffling with a seeded generator (the generator is the core's, `seededRandom`), so a data
// split is reproducible from its seed.
import type { Random } from 'weaver';

/** Fisher–Yates, in place. */
export function shuffle<T>(items: T[], random: Random): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

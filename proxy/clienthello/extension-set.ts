// Which extension types one walk over a hello has met, to find one that appears twice (RFC 8446
// §4.2 makes that an error; GREASE values may repeat): one bitmap of the 2^16 types, shared by
// the full parser (parse.ts) and the family walk (hello-template.ts). Walks are synchronous and
// each clears the bits it set before it returns, so one bitmap serves both and a hello
// allocates nothing for it (no Set, no closure per extension).
const bits = new Uint8Array(8192);

/** Notes `type`; true when this walk had met it already. */
export function metBefore(type: number): boolean {
  const bit = 1 << (type & 7);
  const had = (bits[type >> 3]! & bit) !== 0;
  bits[type >> 3]! |= bit;
  return had;
}

/** Clears what the walk noted of the first `n` of `types` (the types it met), for the next walk. */
export function forgetTypes(types: ArrayLike<number>, n: number): void {
  for (let i = 0; i < n; i++) bits[types[i]! >> 3] = 0;
}

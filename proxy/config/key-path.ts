// Key paths name a place in the configuration the way a reader would write it:
// `listeners[0].clientHello.maxBytes`, `handshakePools.primary.kind`.
export type KeyPath = (string | number)[];

const plainKey = /^[A-Za-z_][A-Za-z0-9_-]*$/;

export function formatKeyPath(path: KeyPath): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (plainKey.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

// TypeBox reports JSON pointers, which cannot tell a list index from a key that looks like a
// number; walking the value alongside settles it.
export function pointerToKeyPath(pointer: string, root: unknown): KeyPath {
  if (pointer === '') return [];
  const path: KeyPath = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(node) && /^\d+$/.test(key)) {
      path.push(Number(key));
      node = node[Number(key)];
    } else {
      path.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return path;
}

// What a threat-intel feed yields, whatever its format.
export type FeedAction = 'deny' | 'flag';

export type FeedEntry =
  /** `cidr` is canonical (see cidr.ts); a bare address is a /32 or /128. */
  | { kind: 'cidr'; cidr: string; family: 4 | 6; note?: string }
  /** `ja3` is 32 lowercase hex digits. */
  | { kind: 'ja3'; ja3: string; note?: string };

/** An entry as handed to the engine: the feed's action, or 'flag' when it was downgraded. */
export type IntelEntry = FeedEntry & {
  action: FeedAction;
  /** Set when a listed JA3 is also known benign software: the benign name it collided with. */
  downgraded?: string;
};

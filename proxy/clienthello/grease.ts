// GREASE (RFC 8701) values are random per connection by design, so every fingerprint must drop
// them or the same client would fingerprint differently on each connection.

/** True for the sixteen reserved 0x?a?a values (0x0a0a, 0x1a1a, … 0xfafa). */
export function isGrease(value: number): boolean {
  return (value & 0x0f0f) === 0x0a0a && value >> 8 === (value & 0xff);
}

export function withoutGrease(values: readonly number[]): number[] {
  return values.filter((v) => !isGrease(v));
}

/** Every GREASE value as one (0x0a0a), other values as they are: for keys on a stack's lists that must not change with the GREASE drawn. */
export function greaseAsOne(value: number): number {
  return isGrease(value) ? 0x0a0a : value;
}

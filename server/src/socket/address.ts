/**
 * The address a client counts against in every per-address limit (failed authentications,
 * socket event buckets, connections per address): an IPv4 address itself (IPv4-mapped IPv6 too),
 * an IPv6 address by its /64 prefix, since one subscriber usually holds a whole /64 and could
 * otherwise take a fresh address (and a fresh allowance) at will. Only the TCP peer's address is
 * used: no proxy header is trusted.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]!.toLowerCase().split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

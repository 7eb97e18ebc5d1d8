// Server-side request forgery guard for webhook URLs: an endpoint may only be an address on the public internet, never
// loopback, private (RFC 1918, fc00::/7), shared (100.64/10), link-local (cloud metadata at 169.254.169.254),
// unspecified, multicast or reserved ranges — also when written as an IPv4-mapped, NAT64 or 6to4 IPv6 address. The host
// is checked when an endpoint is saved AND on every connection (DNS may answer differently later: rebinding), where
// the socket connects to exactly the addresses that were checked (the lookup below is the connection's own).
import dns from 'node:dns';
import net from 'node:net';

/** A refused address (or a host that does not resolve), with what it is. */
export class AddressRefused extends Error {
  override readonly name = 'AddressRefused';
}

interface Range {
  bytes: number[];
  bits: number;
  what: string;
}

function v4(a: number, b: number, c: number, d: number): number[] {
  return [a, b, c, d];
}

const V4_RANGES: Range[] = [
  { bytes: v4(0, 0, 0, 0), bits: 8, what: '"this network" (0.0.0.0/8)' },
  { bytes: v4(10, 0, 0, 0), bits: 8, what: 'private (10.0.0.0/8)' },
  { bytes: v4(100, 64, 0, 0), bits: 10, what: 'shared address space (100.64.0.0/10)' },
  { bytes: v4(127, 0, 0, 0), bits: 8, what: 'loopback (127.0.0.0/8)' },
  { bytes: v4(169, 254, 0, 0), bits: 16, what: 'link-local (169.254.0.0/16)' },
  { bytes: v4(172, 16, 0, 0), bits: 12, what: 'private (172.16.0.0/12)' },
  { bytes: v4(192, 0, 0, 0), bits: 24, what: 'IETF protocol assignments (192.0.0.0/24)' },
  { bytes: v4(192, 0, 2, 0), bits: 24, what: 'documentation (192.0.2.0/24)' },
  { bytes: v4(192, 88, 99, 0), bits: 24, what: '6to4 relay anycast (192.88.99.0/24)' },
  { bytes: v4(192, 168, 0, 0), bits: 16, what: 'private (192.168.0.0/16)' },
  { bytes: v4(198, 18, 0, 0), bits: 15, what: 'benchmarking (198.18.0.0/15)' },
  { bytes: v4(198, 51, 100, 0), bits: 24, what: 'documentation (198.51.100.0/24)' },
  { bytes: v4(203, 0, 113, 0), bits: 24, what: 'documentation (203.0.113.0/24)' },
  { bytes: v4(224, 0, 0, 0), bits: 4, what: 'multicast (224.0.0.0/4)' },
  { bytes: v4(240, 0, 0, 0), bits: 4, what: 'reserved (240.0.0.0/4)' },
];

function v6(prefix: string, bits: number, what: string): Range {
  return { bytes: parseV6(prefix)!, bits, what };
}

const V6_RANGES: Range[] = [
  v6('::', 96, 'unspecified, loopback or IPv4-compatible (::/96)'),
  v6('100::', 64, 'discard-only (100::/64)'),
  v6('2001::', 23, 'IETF protocol assignments (2001::/23)'),
  v6('2001:db8::', 32, 'documentation (2001:db8::/32)'),
  v6('fc00::', 7, 'unique local (fc00::/7)'),
  v6('fe80::', 10, 'link-local (fe80::/10)'),
  v6('fec0::', 10, 'site-local (fec0::/10)'),
  v6('ff00::', 8, 'multicast (ff00::/8)'),
];

function inRange(bytes: number[], r: Range): boolean {
  let bits = r.bits;
  for (let i = 0; bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff;
    if ((bytes[i] & mask) !== (r.bytes[i] & mask)) return false;
  }
  return true;
}

function parseV4(s: string): number[] | undefined {
  if (!net.isIPv4(s)) return undefined;
  return s.split('.').map(Number);
}

/** An IPv6 address as 16 bytes (with an embedded dotted quad, a zone id is dropped), or undefined. */
function parseV6(s: string): number[] | undefined {
  const addr = s.replace(/%.*$/, '');
  if (!net.isIPv6(addr)) return undefined;
  let text = addr;
  const quad = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (quad) {
    const b = parseV4(quad[1]);
    if (!b) return undefined;
    text = text.slice(0, -quad[1].length) + `${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const [head, tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) return undefined;
  return groups.flatMap((g) => {
    const n = parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}

/** What makes this IP address non-public, or undefined for a public address. */
export function addressProblem(ip: string): string | undefined {
  const four = parseV4(ip);
  if (four) return V4_RANGES.find((r) => inRange(four, r))?.what;
  const six = parseV6(ip);
  if (!six) return 'not an IP address';
  // IPv4 inside IPv6: mapped (::ffff:0:0/96), NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address.
  const zeros = six.slice(0, 10).every((b) => b === 0);
  if (zeros && six[10] === 0xff && six[11] === 0xff) return embedded(six.slice(12, 16), 'IPv4-mapped');
  if (six[0] === 0x00 && six[1] === 0x64 && six[2] === 0xff && six[3] === 0x9b && six.slice(4, 12).every((b) => b === 0))
    return embedded(six.slice(12, 16), 'NAT64');
  if (six[0] === 0x20 && six[1] === 0x02) return embedded(six.slice(2, 6), '6to4');
  return V6_RANGES.find((r) => inRange(six, r))?.what;
}

function embedded(bytes: number[], how: string): string | undefined {
  const what = V4_RANGES.find((r) => inRange(bytes, r))?.what;
  return what && `${how} ${what}`;
}

/** The URL's host without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** Every address the host resolves to; refused when any of them is not public (unless `allowPrivate`). */
export async function checkedAddresses(host: string, allowPrivate: boolean): Promise<dns.LookupAddress[]> {
  let addresses: dns.LookupAddress[];
  if (net.isIP(host)) addresses = [{ address: host, family: net.isIP(host) }];
  else {
    try {
      addresses = await dns.promises.lookup(host, { all: true, verbatim: true });
    } catch (err) {
      throw new AddressRefused(`host "${host}" does not resolve (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  if (addresses.length === 0) throw new AddressRefused(`host "${host}" does not resolve`);
  if (!allowPrivate) {
    for (const a of addresses) {
      const problem = addressProblem(a.address);
      if (problem) {
        const hint = '(set TOLLBOOTH_WEBHOOK_ALLOW_PRIVATE=1 to allow)';
        throw new AddressRefused(`host "${host}" resolves to ${a.address}, a ${problem} address ${hint}`);
      }
    }
  }
  return addresses;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http.request: the connection goes to addresses checked by checkedAddresses, never to a second,
 * unchecked answer of the resolver.
 */
export function checkedLookup(allowPrivate: boolean) {
  return (hostname: string, options: { all?: boolean }, callback: LookupCallback): void => {
    checkedAddresses(hostname, allowPrivate).then(
      (addresses) => (options.all ? callback(null, addresses) : callback(null, addresses[0].address, addresses[0].family)),
      (err: Error) => callback(Object.assign(err, { code: 'EADDRREFUSED' }), ''),
    );
  };
}

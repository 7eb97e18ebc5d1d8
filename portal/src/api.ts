// The engine's API from the portal page: Connect-Web clients on this origin (the session cookie authenticates them),
// the page's own session facts, and errors turned into what a person can act on.
import { Code, ConnectError, createClient, type Client } from '@connectrpc/connect';
import { createConnectTransport } from '@connectrpc/connect-web';
import { ErrorInfoSchema } from '../../gen/google/rpc/error_details_pb.js';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { CustomerRefSchema } from '../../gen/tollbooth/v1/common_pb.js';
import { UsageService } from '../../gen/tollbooth/v1/usage_pb.js';
import { WalletService } from '../../gen/tollbooth/v1/wallet_pb.js';

const transport = createConnectTransport({ baseUrl: location.origin, useBinaryFormat: true });

export const wallet: Client<typeof WalletService> = createClient(WalletService, transport);
export const usage: Client<typeof UsageService> = createClient(UsageService, transport);

export interface AssetInfo {
  code: string;
  name: string;
  scale: number;
  /** How a top-up of this asset is paid, when it can be. */
  topUp: { currency: string; decimals: number; minimum: string } | null;
}

export interface Session {
  customerId: string;
  customerName: string;
  returnUrl: string;
  expireTime: string;
  title: string;
  logoUrl: string;
  assets: AssetInfo[];
}

/** The session this page runs in, or null when there is none (never opened, ended, expired). */
export async function loadSession(): Promise<Session | null> {
  const res = await fetch('/portal/session', { headers: { accept: 'application/json' } });
  if (res.status === 401) return null;
  if (!res.ok) throw new Error(`the billing page could not load (${res.status})`);
  return (await res.json()) as Session;
}

export async function signOut(): Promise<void> {
  await fetch('/portal/logout', { method: 'POST' });
}

export const customerRef = (id: string): MessageInitShape<typeof CustomerRefSchema> => ({ ref: { case: 'id', value: id } });

/** An API error as the page shows it: the message, the request field it names (if any), and whether the session ended. */
export interface Problem {
  message: string;
  field: string;
  ended: boolean;
}

export function problemOf(err: unknown): Problem {
  const e = ConnectError.from(err);
  const info = e.findDetails(ErrorInfoSchema)[0];
  return { message: e.rawMessage, field: info?.metadata.field ?? '', ended: e.code === Code.Unauthenticated };
}

/** Listeners told when any call finds the session over, so the whole page can say so. */
const endedListeners = new Set<() => void>();
export const onSessionEnded = (fn: () => void): (() => void) => (endedListeners.add(fn), () => endedListeners.delete(fn));
export function noteProblem(err: unknown): Problem {
  const p = problemOf(err);
  if (p.ended) endedListeners.forEach((fn) => fn());
  return p;
}

// Standard Webhooks signing (https://www.standardwebhooks.com): a secret is "whsec_" + base64 of 24 random bytes; a
// signature is "v1," + base64(HMAC-SHA256(secret bytes, "<webhook-id>.<webhook-timestamp>.<body>")), and the
// webhook-signature header lists one per secret in use, space-separated (two during a rotation's overlap).
import { createHmac, randomBytes } from 'node:crypto';

const PREFIX = 'whsec_';

/** A new signing secret. */
export function newSecret(): string {
  return PREFIX + randomBytes(24).toString('base64');
}

/** One `v1,` signature of the message with this secret. */
export function sign(secret: string, id: string, timestampSec: number, body: string): string {
  const key = Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest('base64')}`;
}

/** The webhook-signature header: a signature per secret, space-separated. */
export function signatureHeader(secrets: readonly string[], id: string, timestampSec: number, body: string): string {
  return secrets.map((s) => sign(s, id, timestampSec, body)).join(' ');
}

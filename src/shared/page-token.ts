// Opaque page tokens: base64url JSON of the last row's sort key plus a fingerprint of the filters, so a token reused
// with different filters is refused instead of silently returning the wrong page.
import { createHash } from 'node:crypto';
import { AppError } from './errors.js';

export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

export function pageSize(req: PageRequest, dflt = 50, max = 1000): number {
  if (req.pageSize < 0 || req.pageSize > max)
    throw new AppError('INVALID_ARGUMENT', `page_size: must be between 0 and ${max}`, { field: 'page_size' });
  return req.pageSize === 0 ? dflt : req.pageSize;
}

function fingerprint(filters: unknown): string {
  return createHash('sha256')
    .update(JSON.stringify(filters ?? null))
    .digest('base64url')
    .slice(0, 12);
}

export function encodePageToken(key: unknown[], filters: unknown): string {
  return Buffer.from(JSON.stringify({ k: key, f: fingerprint(filters) })).toString('base64url');
}

/** The sort key encoded in the token, or undefined for the first page. */
export function decodePageToken(token: string, filters: unknown): unknown[] | undefined {
  if (!token) return undefined;
  let parsed: { k?: unknown; f?: unknown };
  try {
    parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw new AppError('INVALID_PAGE_TOKEN', 'page_token: is not a token this server issued', { field: 'page_token' });
  }
  if (!Array.isArray(parsed.k) || typeof parsed.f !== 'string') {
    throw new AppError('INVALID_PAGE_TOKEN', 'page_token: is not a token this server issued', { field: 'page_token' });
  }
  if (parsed.f !== fingerprint(filters)) {
    throw new AppError('INVALID_PAGE_TOKEN', 'page_token: the filters changed since this token was issued; start again without a token', {
      field: 'page_token',
    });
  }
  return parsed.k;
}

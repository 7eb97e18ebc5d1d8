// Types of scripts/build-portal.mjs for the TypeScript that imports it (the test run's global setup).
export declare const PORTAL_DIST: string;
export interface PortalManifest {
  inputs: string;
  js: string;
  css: string;
  files: string[];
  sizes: Record<string, { bytes: number; gzip: number }>;
}
export declare function buildPortal(options?: { force?: boolean; quiet?: boolean }): Promise<PortalManifest>;

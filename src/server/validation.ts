// The validation layer: one validator per request message type, run by the pipeline before any service code.
// Constraints mirror the proto comments, which is where clients in every language read them.
import type { DescMessage } from '@bufbuild/protobuf';
import { apiKeyValidators } from '../auth/api-keys.validation.js';
import { catalogValidators } from '../catalog/catalog.validation.js';
import { customerValidators } from '../customers/customers.validation.js';
import { usageValidators } from '../usage/usage.validation.js';
import { walletValidators } from '../wallets/wallets.validation.js';
import { topUpValidators } from '../topups/topups.validation.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Validator = (req: any) => void;

const registry = new Map<string, Validator>();
for (const table of [apiKeyValidators, catalogValidators, customerValidators, usageValidators, walletValidators, topUpValidators]) {
  for (const [typeName, fn] of Object.entries(table)) registry.set(typeName, fn);
}

export function validatorFor(schema: DescMessage): Validator | undefined {
  return registry.get(schema.typeName);
}

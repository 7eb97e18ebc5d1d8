import { EntitySchema } from '@mikro-orm/core';

export interface Wallet {
  id: string;
  customerId: string;
  name: string;
  createdAt: Date;
}
export const WalletSchema = new EntitySchema<Wallet>({
  name: 'Wallet',
  tableName: 'wallets',
  properties: {
    id: { type: 'string', primary: true },
    customerId: { type: 'string' },
    name: { type: 'string' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export type AccountType = 'customer' | 'revenue' | 'funding' | 'adjustments' | 'holds';
export interface Account {
  id: string;
  walletId?: string | null;
  customerId?: string | null;
  assetCode: string;
  type: AccountType;
  stripe: number;
  /** NUMERIC(38,12) decimal strings. */
  balance: string;
  held: string;
  sequence: string;
  createdAt: Date;
}
export const AccountSchema = new EntitySchema<Account>({
  name: 'Account',
  tableName: 'accounts',
  properties: {
    id: { type: 'string', primary: true },
    walletId: { type: 'string', nullable: true },
    customerId: { type: 'string', nullable: true },
    assetCode: { type: 'string' },
    type: { type: 'string' },
    stripe: { type: 'integer' },
    balance: { type: 'decimal', columnType: 'numeric(38,12)' },
    held: { type: 'decimal', columnType: 'numeric(38,12)' },
    sequence: { type: 'bigint' },
    createdAt: { type: 'Date', columnType: 'timestamptz', onCreate: () => new Date() },
  },
});

export const walletEntities = [WalletSchema, AccountSchema];

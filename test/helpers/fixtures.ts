// Request bodies the tests share: the seed scenario's $0.05-per-image product and friends.
import { UsageCalculation } from '../../gen/tollbooth/v1/catalog_pb.js';

let n = 0;
export const uniq = (prefix: string): string => `${prefix}-${process.pid}-${Date.now().toString(36)}-${n++}`;

export function imageProduct(code = uniq('image-gen'), amount = '0.05') {
  return {
    requestId: uniq('req'),
    code,
    name: 'Image generation',
    publish: true,
    prices: [
      {
        name: 'Images',
        eventType: 'image_generated',
        calculation: UsageCalculation.UNIT,
        rates: [{ unitPrices: [{ assetCode: 'USD', amount }] }],
      },
    ],
  };
}

/** The same product as Connect JSON (what curl and browsers send). */
export function imageProductJson(code: string, amount = '0.05') {
  return {
    requestId: uniq('req'),
    code,
    name: 'Image generation',
    publish: true,
    prices: [
      {
        name: 'Images',
        eventType: 'image_generated',
        calculation: 'USAGE_CALCULATION_UNIT',
        rates: [{ unitPrices: [{ assetCode: 'USD', amount }] }],
      },
    ],
  };
}

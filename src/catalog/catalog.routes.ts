// CatalogService's RPCs, each bound with the key scope it needs, its request validator and its handler.
import { CatalogService as CatalogApi } from '../../gen/tollbooth/v1/catalog_pb.js';
import { bind, noChecks, type ServiceBinding } from '../server/binding.js';
import { catalogHandlers } from './catalog.rpc.js';
import type { CatalogService } from './catalog.service.js';
import { catalogValidators as v } from './catalog.validation.js';

export function catalogRoutes(catalog: CatalogService): ServiceBinding {
  const h = catalogHandlers(catalog);
  return bind(CatalogApi, {
    createAsset: { scope: 'admin', validate: v.createAsset, handle: h.createAsset },
    getAsset: { scope: 'read', validate: v.getAsset, handle: h.getAsset },
    listAssets: { scope: 'read', validate: noChecks, handle: h.listAssets },
    createProduct: { scope: 'admin', validate: v.createProduct, handle: h.createProduct },
    getProduct: { scope: 'read', validate: v.getProduct, handle: h.getProduct },
    listProducts: { scope: 'read', validate: noChecks, handle: h.listProducts },
    updateProduct: { scope: 'admin', validate: v.updateProduct, handle: h.updateProduct },
    publishProduct: { scope: 'admin', validate: v.publishProduct, handle: h.publishProduct },
    archiveProduct: { scope: 'admin', validate: v.archiveProduct, handle: h.archiveProduct },
    listProductVersions: { scope: 'read', validate: v.listProductVersions, handle: h.listProductVersions },
  });
}

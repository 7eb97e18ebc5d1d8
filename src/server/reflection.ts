// gRPC server reflection needs a proto-loader PackageDefinition; build it from the file descriptors protoc-gen-es
// embeds in gen/, so grpcurl and `buf curl` work with no .proto files at hand.
import { create, toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import { loadFileDescriptorSetFromBuffer, type PackageDefinition } from '@grpc/proto-loader';
import { file_tollbooth_v1_catalog } from '../../gen/tollbooth/v1/catalog_pb.js';
import { file_tollbooth_v1_customer } from '../../gen/tollbooth/v1/customer_pb.js';
import { file_tollbooth_v1_usage } from '../../gen/tollbooth/v1/usage_pb.js';
import { file_tollbooth_v1_wallet } from '../../gen/tollbooth/v1/wallet_pb.js';

export const apiFiles: DescFile[] = [file_tollbooth_v1_catalog, file_tollbooth_v1_customer, file_tollbooth_v1_wallet, file_tollbooth_v1_usage];

/** Every file of the API with its imports, dependencies first. */
export function fileDescriptorSetBytes(): Uint8Array {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    ordered.push(f);
  };
  apiFiles.forEach(visit);
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: ordered.map((f) => f.proto) }));
}

export function reflectionPackageDefinition(): PackageDefinition {
  return loadFileDescriptorSetFromBuffer(Buffer.from(fileDescriptorSetBytes()), { keepCase: true, defaults: true });
}

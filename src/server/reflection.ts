// gRPC server reflection serves the file descriptors protoc-gen-es embeds in gen/, so grpcurl and `buf curl` work with
// no .proto files at hand.
import { create, toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';
import type { PackageDefinition } from '@grpc/proto-loader';
import { file_tollbooth_v1_api_key } from '../../gen/tollbooth/v1/api_key_pb.js';
import { file_tollbooth_v1_catalog } from '../../gen/tollbooth/v1/catalog_pb.js';
import { file_tollbooth_v1_customer } from '../../gen/tollbooth/v1/customer_pb.js';
import { file_tollbooth_v1_usage } from '../../gen/tollbooth/v1/usage_pb.js';
import { file_tollbooth_v1_wallet } from '../../gen/tollbooth/v1/wallet_pb.js';
import { file_tollbooth_v1_webhook } from '../../gen/tollbooth/v1/webhook_pb.js';

export const apiFiles: DescFile[] = [
  file_tollbooth_v1_api_key, file_tollbooth_v1_catalog, file_tollbooth_v1_customer, file_tollbooth_v1_wallet, file_tollbooth_v1_usage,
  file_tollbooth_v1_webhook,
];

/** Every file of the API with its imports, dependencies first. */
function orderedFiles(): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    ordered.push(f);
  };
  apiFiles.forEach(visit);
  return ordered;
}

export function fileDescriptorSetBytes(): Uint8Array {
  return toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: orderedFiles().map((f) => f.proto) }));
}

/**
 * @grpc/reflection reads only `fileDescriptorProtos` of each entry, so hand it the original files. (proto-loader's
 * loadFileDescriptorSetFromBuffer would merge all files of one package into one and drop their imports: clients then
 * fail with 'failed to find service named "tollbooth.v1.CatalogService"'.)
 */
export function reflectionPackageDefinition(): PackageDefinition {
  const fileDescriptorProtos = orderedFiles().map((f) => Buffer.from(toBinary(FileDescriptorProtoSchema, f.proto)));
  return { 'tollbooth.v1': { fileDescriptorProtos } } as unknown as PackageDefinition;
}

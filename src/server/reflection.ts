// gRPC server reflection serves the file descriptors protoc-gen-es embeds in gen/, and grpc.health.v1's, so grpcurl and
// `buf curl` work with no .proto files at hand and list Health as they do on other gRPC servers.
import { toBinary, type DescFile } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import type { PackageDefinition } from '@grpc/proto-loader';
import { file_health_v1_health } from '../../gen/health/v1/health_pb.js';
import { file_tollbooth_v1_api_key } from '../../gen/tollbooth/v1/api_key_pb.js';
import { file_tollbooth_v1_catalog } from '../../gen/tollbooth/v1/catalog_pb.js';
import { file_tollbooth_v1_customer } from '../../gen/tollbooth/v1/customer_pb.js';
import { file_tollbooth_v1_usage } from '../../gen/tollbooth/v1/usage_pb.js';
import { file_tollbooth_v1_wallet } from '../../gen/tollbooth/v1/wallet_pb.js';
import { file_tollbooth_v1_webhook } from '../../gen/tollbooth/v1/webhook_pb.js';

export const apiFiles: DescFile[] = [
  file_tollbooth_v1_api_key,
  file_tollbooth_v1_catalog,
  file_tollbooth_v1_customer,
  file_tollbooth_v1_wallet,
  file_tollbooth_v1_usage,
  file_tollbooth_v1_webhook,
];
/** grpc.health.v1 (grpc-health-check's health.proto, generated into gen/ like ours), which standard servers list too. */
const servedFiles: DescFile[] = [...apiFiles, file_health_v1_health];

/** Every file served (the API and Health) with its imports, dependencies first. */
function orderedFiles(): DescFile[] {
  const seen = new Set<string>();
  const ordered: DescFile[] = [];
  const visit = (f: DescFile) => {
    if (seen.has(f.name)) return;
    seen.add(f.name);
    f.dependencies.forEach(visit);
    ordered.push(f);
  };
  servedFiles.forEach(visit);
  return ordered;
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

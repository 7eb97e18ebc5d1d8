"""A thin Python client for Tollbooth over gRPC: the generated stubs (gen/python) with the API key sent on every call,
a default deadline on unary calls (none on WatchWallet), and errors raised as TollboothError with the engine's
google.rpc.ErrorInfo reason decoded from the grpc-status-details-bin trailer.

    PYTHONPATH=gen/python:clients/python python3 your_app.py

    import tollbooth_client
    from tollbooth.v1 import catalog_pb2
    tb = tollbooth_client.connect("localhost:50051", api_key)
    try:
        tb.catalog.GetProduct(catalog_pb2.GetProductRequest(code="image-gen"))
    except tollbooth_client.TollboothError as e:
        print(e.code, e.reason, e.field)
"""
import grpc

from google.rpc import error_details_pb2, status_pb2
from tollbooth.v1 import (
    api_key_pb2, api_key_pb2_grpc, catalog_pb2, catalog_pb2_grpc, customer_pb2, customer_pb2_grpc,
    usage_pb2, usage_pb2_grpc, wallet_pb2, wallet_pb2_grpc, webhook_pb2, webhook_pb2_grpc,
)

# The services a client gets, by attribute name (as the TypeScript client names them); test/client/python.test.ts
# checks that it names every service the engine serves.
SERVICES = {
    "catalog": (catalog_pb2_grpc.CatalogServiceStub, catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]),
    "customers": (customer_pb2_grpc.CustomerServiceStub, customer_pb2.DESCRIPTOR.services_by_name["CustomerService"]),
    "wallets": (wallet_pb2_grpc.WalletServiceStub, wallet_pb2.DESCRIPTOR.services_by_name["WalletService"]),
    "usage": (usage_pb2_grpc.UsageServiceStub, usage_pb2.DESCRIPTOR.services_by_name["UsageService"]),
    "api_keys": (api_key_pb2_grpc.ApiKeyServiceStub, api_key_pb2.DESCRIPTOR.services_by_name["ApiKeyService"]),
    "webhooks": (webhook_pb2_grpc.WebhookServiceStub, webhook_pb2.DESCRIPTOR.services_by_name["WebhookService"]),
}

DEFAULT_TIMEOUT = 10.0
ERROR_DOMAIN = "tollbooth.dev"


class TollboothError(grpc.RpcError):
    """A failed call. `reason` is ErrorInfo.reason (e.g. "INSUFFICIENT_BALANCE"), None when the error did not come from
    the engine (a deadline, a cancelled call, a network failure); `field` names the offending request field of an
    INVALID_ARGUMENT; `metadata` is ErrorInfo.metadata."""

    def __init__(self, code, message, reason=None, metadata=None):
        super().__init__(f"{code.name if code else 'UNKNOWN'}: {message}")
        self.code = code
        self.message = message
        self.reason = reason
        self.metadata = dict(metadata or {})
        self.field = self.metadata.get("field")

    @classmethod
    def from_rpc_error(cls, err):
        reason, metadata = None, {}
        for key, value in (err.trailing_metadata() or ()) if hasattr(err, "trailing_metadata") else ():
            if key != "grpc-status-details-bin":
                continue
            status = status_pb2.Status.FromString(value)
            for detail in status.details:
                if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                    info = error_details_pb2.ErrorInfo()
                    detail.Unpack(info)
                    if reason is None or info.domain == ERROR_DOMAIN:
                        reason, metadata = info.reason, dict(info.metadata)
        code = err.code() if hasattr(err, "code") else None
        message = err.details() if hasattr(err, "details") else str(err)
        return cls(code, message, reason, metadata)


class _Stream:
    """A server stream: iterate it for messages; cancel() ends it. Errors arrive as TollboothError."""

    def __init__(self, call):
        self._call = call

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._call)
        except grpc.RpcError as err:
            raise TollboothError.from_rpc_error(err) from err

    def cancel(self):
        self._call.cancel()


class _Service:
    def __init__(self, stub, descriptor, auth, timeout):
        self._stub, self._descriptor, self._auth, self._timeout = stub, descriptor, auth, timeout

    def __getattr__(self, name):
        method = getattr(self._stub, name)
        streaming = self._descriptor.methods_by_name[name].server_streaming
        auth, default_timeout = self._auth, self._timeout

        def call(request, timeout=None, metadata=()):
            md = (auth, *metadata)
            try:
                if streaming:
                    return _Stream(method(request, timeout=timeout, metadata=md))
                return method(request, timeout=default_timeout if timeout is None else timeout, metadata=md)
            except grpc.RpcError as err:
                raise TollboothError.from_rpc_error(err) from err

        return call


class Client:
    """One channel to the engine's gRPC port; `catalog`, `customers`, `wallets`, `usage` and `api_keys` call its
    services. Unary calls get `timeout` seconds unless a call passes its own; streams get none unless a call does."""

    def __init__(self, target, api_key, timeout=DEFAULT_TIMEOUT, credentials=None):
        self.channel = grpc.secure_channel(target, credentials) if credentials else grpc.insecure_channel(target)
        auth = ("authorization", f"Bearer {api_key}")
        for name, (stub, descriptor) in SERVICES.items():
            setattr(self, name, _Service(stub(self.channel), descriptor, auth, timeout))

    def close(self):
        self.channel.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def connect(target, api_key, timeout=DEFAULT_TIMEOUT, credentials=None):
    """A client for the engine at `target` ("localhost:50051"); pass grpc.ssl_channel_credentials() for TLS."""
    return Client(target, api_key, timeout, credentials)

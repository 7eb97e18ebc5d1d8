from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import field_mask_pb2 as _field_mask_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollbooth.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
INSUFFICIENT_BALANCE_POLICY_ALLOW: InsufficientBalancePolicy
INSUFFICIENT_BALANCE_POLICY_REJECT: InsufficientBalancePolicy
INSUFFICIENT_BALANCE_POLICY_UNSPECIFIED: InsufficientBalancePolicy
MIGRATION_STATE_CANCELED: MigrationState
MIGRATION_STATE_FAILED: MigrationState
MIGRATION_STATE_PENDING: MigrationState
MIGRATION_STATE_RUNNING: MigrationState
MIGRATION_STATE_SCHEDULED: MigrationState
MIGRATION_STATE_SUCCEEDED: MigrationState
MIGRATION_STATE_UNSPECIFIED: MigrationState
SUBSCRIPTION_STATUS_ACTIVE: SubscriptionStatus
SUBSCRIPTION_STATUS_CANCELED: SubscriptionStatus
SUBSCRIPTION_STATUS_UNSPECIFIED: SubscriptionStatus

class AssetImpact(_message.Message):
    __slots__ = ["actual", "asset_code", "difference", "target"]
    ACTUAL_FIELD_NUMBER: _ClassVar[int]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCE_FIELD_NUMBER: _ClassVar[int]
    TARGET_FIELD_NUMBER: _ClassVar[int]
    actual: str
    asset_code: str
    difference: str
    target: str
    def __init__(self, asset_code: _Optional[str] = ..., actual: _Optional[str] = ..., target: _Optional[str] = ..., difference: _Optional[str] = ...) -> None: ...

class CancelMigrationRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class CancelMigrationResponse(_message.Message):
    __slots__ = ["migration"]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    migration: Migration
    def __init__(self, migration: _Optional[_Union[Migration, _Mapping]] = ...) -> None: ...

class CancelSubscriptionRequest(_message.Message):
    __slots__ = ["subscription_id"]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    subscription_id: str
    def __init__(self, subscription_id: _Optional[str] = ...) -> None: ...

class CancelSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class CreateBrowserTokenRequest(_message.Message):
    __slots__ = ["customer", "ttl"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    ttl: _duration_pb2.Duration
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreateBrowserTokenResponse(_message.Message):
    __slots__ = ["expire_time", "id", "token"]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    id: str
    token: str
    def __init__(self, token: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., id: _Optional[str] = ...) -> None: ...

class CreateCustomerRequest(_message.Message):
    __slots__ = ["email", "external_id", "insufficient_balance_policy", "metadata", "name", "overdraft_limit", "product_codes", "request_id"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    INSUFFICIENT_BALANCE_POLICY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OVERDRAFT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODES_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    email: str
    external_id: str
    insufficient_balance_policy: InsufficientBalancePolicy
    metadata: _containers.ScalarMap[str, str]
    name: str
    overdraft_limit: str
    product_codes: _containers.RepeatedScalarFieldContainer[str]
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., external_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., product_codes: _Optional[_Iterable[str]] = ..., insufficient_balance_policy: _Optional[_Union[InsufficientBalancePolicy, str]] = ..., overdraft_limit: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class CreateCustomerResponse(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class CreatePortalSessionRequest(_message.Message):
    __slots__ = ["customer", "return_url", "ttl"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    RETURN_URL_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    return_url: str
    ttl: _duration_pb2.Duration
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., return_url: _Optional[str] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class CreatePortalSessionResponse(_message.Message):
    __slots__ = ["expire_time", "id", "url"]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    URL_FIELD_NUMBER: _ClassVar[int]
    expire_time: _timestamp_pb2.Timestamp
    id: str
    url: str
    def __init__(self, url: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., id: _Optional[str] = ...) -> None: ...

class CreateSubscriptionRequest(_message.Message):
    __slots__ = ["customer", "product_code", "product_version", "request_id"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_VERSION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    product_code: str
    product_version: int
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., product_code: _Optional[str] = ..., product_version: _Optional[int] = ...) -> None: ...

class CreateSubscriptionResponse(_message.Message):
    __slots__ = ["subscription"]
    SUBSCRIPTION_FIELD_NUMBER: _ClassVar[int]
    subscription: Subscription
    def __init__(self, subscription: _Optional[_Union[Subscription, _Mapping]] = ...) -> None: ...

class Customer(_message.Message):
    __slots__ = ["create_time", "email", "external_id", "id", "insufficient_balance_policy", "metadata", "name", "overdraft_limit", "subscriptions", "update_time", "wallet_id"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INSUFFICIENT_BALANCE_POLICY_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    OVERDRAFT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTIONS_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    WALLET_ID_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    email: str
    external_id: str
    id: str
    insufficient_balance_policy: InsufficientBalancePolicy
    metadata: _containers.ScalarMap[str, str]
    name: str
    overdraft_limit: str
    subscriptions: _containers.RepeatedCompositeFieldContainer[Subscription]
    update_time: _timestamp_pb2.Timestamp
    wallet_id: str
    def __init__(self, id: _Optional[str] = ..., external_id: _Optional[str] = ..., name: _Optional[str] = ..., email: _Optional[str] = ..., insufficient_balance_policy: _Optional[_Union[InsufficientBalancePolicy, str]] = ..., overdraft_limit: _Optional[str] = ..., subscriptions: _Optional[_Iterable[_Union[Subscription, _Mapping]]] = ..., wallet_id: _Optional[str] = ..., metadata: _Optional[_Mapping[str, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class CustomerImpact(_message.Message):
    __slots__ = ["customer_id", "external_id", "from_version", "impacts", "runway", "runway_shortens", "subscription_id"]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    IMPACTS_FIELD_NUMBER: _ClassVar[int]
    RUNWAY_FIELD_NUMBER: _ClassVar[int]
    RUNWAY_SHORTENS_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    customer_id: str
    external_id: str
    from_version: int
    impacts: _containers.RepeatedCompositeFieldContainer[AssetImpact]
    runway: _containers.RepeatedCompositeFieldContainer[Runway]
    runway_shortens: bool
    subscription_id: str
    def __init__(self, customer_id: _Optional[str] = ..., external_id: _Optional[str] = ..., subscription_id: _Optional[str] = ..., from_version: _Optional[int] = ..., impacts: _Optional[_Iterable[_Union[AssetImpact, _Mapping]]] = ..., runway: _Optional[_Iterable[_Union[Runway, _Mapping]]] = ..., runway_shortens: bool = ...) -> None: ...

class GetCustomerRequest(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ...) -> None: ...

class GetCustomerResponse(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class GetMigrationRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetMigrationResponse(_message.Message):
    __slots__ = ["migration"]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    migration: Migration
    def __init__(self, migration: _Optional[_Union[Migration, _Mapping]] = ...) -> None: ...

class ListCustomersRequest(_message.Message):
    __slots__ = ["email", "page_size", "page_token"]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    email: str
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., email: _Optional[str] = ...) -> None: ...

class ListCustomersResponse(_message.Message):
    __slots__ = ["customers", "next_page_token"]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[Customer]
    next_page_token: str
    def __init__(self, customers: _Optional[_Iterable[_Union[Customer, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ListMigrationsRequest(_message.Message):
    __slots__ = ["page_size", "page_token", "product_code"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    product_code: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., product_code: _Optional[str] = ...) -> None: ...

class ListMigrationsResponse(_message.Message):
    __slots__ = ["migrations", "next_page_token"]
    MIGRATIONS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    migrations: _containers.RepeatedCompositeFieldContainer[Migration]
    next_page_token: str
    def __init__(self, migrations: _Optional[_Iterable[_Union[Migration, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MigrateSubscriptionsRequest(_message.Message):
    __slots__ = ["effective_time", "from_version", "product_code", "request_id", "to_version"]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    effective_time: _timestamp_pb2.Timestamp
    from_version: int
    product_code: str
    request_id: str
    to_version: int
    def __init__(self, request_id: _Optional[str] = ..., product_code: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MigrateSubscriptionsResponse(_message.Message):
    __slots__ = ["migration"]
    MIGRATION_FIELD_NUMBER: _ClassVar[int]
    migration: Migration
    def __init__(self, migration: _Optional[_Union[Migration, _Mapping]] = ...) -> None: ...

class Migration(_message.Message):
    __slots__ = ["create_time", "effective_time", "error", "failed_count", "finish_time", "from_version", "id", "migrated_count", "product_code", "request_id", "skipped_count", "start_time", "state", "to_version", "total_count"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    FAILED_COUNT_FIELD_NUMBER: _ClassVar[int]
    FINISH_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MIGRATED_COUNT_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    SKIPPED_COUNT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COUNT_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    effective_time: _timestamp_pb2.Timestamp
    error: str
    failed_count: int
    finish_time: _timestamp_pb2.Timestamp
    from_version: int
    id: str
    migrated_count: int
    product_code: str
    request_id: str
    skipped_count: int
    start_time: _timestamp_pb2.Timestamp
    state: MigrationState
    to_version: int
    total_count: int
    def __init__(self, id: _Optional[str] = ..., product_code: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., state: _Optional[_Union[MigrationState, str]] = ..., migrated_count: _Optional[int] = ..., total_count: _Optional[int] = ..., error: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., finish_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., skipped_count: _Optional[int] = ..., failed_count: _Optional[int] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class PreviewMigrationRequest(_message.Message):
    __slots__ = ["from_version", "lookback_days", "only_shortened_runway", "page_size", "page_token", "product_code", "to_version"]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    LOOKBACK_DAYS_FIELD_NUMBER: _ClassVar[int]
    ONLY_SHORTENED_RUNWAY_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    from_version: int
    lookback_days: int
    only_shortened_runway: bool
    page_size: int
    page_token: str
    product_code: str
    to_version: int
    def __init__(self, product_code: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., lookback_days: _Optional[int] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., only_shortened_runway: bool = ...) -> None: ...

class PreviewMigrationResponse(_message.Message):
    __slots__ = ["customers", "next_page_token", "shortened_runway_count", "subscription_count", "to_version", "totals", "window_end", "window_start"]
    CUSTOMERS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    SHORTENED_RUNWAY_COUNT_FIELD_NUMBER: _ClassVar[int]
    SUBSCRIPTION_COUNT_FIELD_NUMBER: _ClassVar[int]
    TOTALS_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    WINDOW_START_FIELD_NUMBER: _ClassVar[int]
    customers: _containers.RepeatedCompositeFieldContainer[CustomerImpact]
    next_page_token: str
    shortened_runway_count: int
    subscription_count: int
    to_version: int
    totals: _containers.RepeatedCompositeFieldContainer[AssetImpact]
    window_end: _timestamp_pb2.Timestamp
    window_start: _timestamp_pb2.Timestamp
    def __init__(self, to_version: _Optional[int] = ..., subscription_count: _Optional[int] = ..., totals: _Optional[_Iterable[_Union[AssetImpact, _Mapping]]] = ..., customers: _Optional[_Iterable[_Union[CustomerImpact, _Mapping]]] = ..., next_page_token: _Optional[str] = ..., shortened_runway_count: _Optional[int] = ..., window_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., window_end: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RevokeCustomerCredentialsRequest(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ...) -> None: ...

class RevokeCustomerCredentialsResponse(_message.Message):
    __slots__ = ["revoked_count"]
    REVOKED_COUNT_FIELD_NUMBER: _ClassVar[int]
    revoked_count: int
    def __init__(self, revoked_count: _Optional[int] = ...) -> None: ...

class Runway(_message.Message):
    __slots__ = ["asset_code", "available", "burn_per_day", "burn_per_day_after", "days", "days_after"]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    BURN_PER_DAY_AFTER_FIELD_NUMBER: _ClassVar[int]
    BURN_PER_DAY_FIELD_NUMBER: _ClassVar[int]
    DAYS_AFTER_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    asset_code: str
    available: str
    burn_per_day: str
    burn_per_day_after: str
    days: str
    days_after: str
    def __init__(self, asset_code: _Optional[str] = ..., available: _Optional[str] = ..., burn_per_day: _Optional[str] = ..., burn_per_day_after: _Optional[str] = ..., days: _Optional[str] = ..., days_after: _Optional[str] = ...) -> None: ...

class Subscription(_message.Message):
    __slots__ = ["cancel_time", "create_time", "id", "moves", "product_code", "product_id", "product_version", "status"]
    CANCEL_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    MOVES_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_VERSION_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    cancel_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    id: str
    moves: _containers.RepeatedCompositeFieldContainer[SubscriptionMove]
    product_code: str
    product_id: str
    product_version: int
    status: SubscriptionStatus
    def __init__(self, id: _Optional[str] = ..., product_code: _Optional[str] = ..., product_id: _Optional[str] = ..., product_version: _Optional[int] = ..., status: _Optional[_Union[SubscriptionStatus, str]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cancel_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., moves: _Optional[_Iterable[_Union[SubscriptionMove, _Mapping]]] = ...) -> None: ...

class SubscriptionMove(_message.Message):
    __slots__ = ["effective_time", "from_version", "migrate_time", "migration_id", "to_product_id", "to_version"]
    EFFECTIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    FROM_VERSION_FIELD_NUMBER: _ClassVar[int]
    MIGRATE_TIME_FIELD_NUMBER: _ClassVar[int]
    MIGRATION_ID_FIELD_NUMBER: _ClassVar[int]
    TO_PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    TO_VERSION_FIELD_NUMBER: _ClassVar[int]
    effective_time: _timestamp_pb2.Timestamp
    from_version: int
    migrate_time: _timestamp_pb2.Timestamp
    migration_id: str
    to_product_id: str
    to_version: int
    def __init__(self, migration_id: _Optional[str] = ..., from_version: _Optional[int] = ..., to_version: _Optional[int] = ..., to_product_id: _Optional[str] = ..., effective_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., migrate_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateCustomerRequest(_message.Message):
    __slots__ = ["customer", "update_mask"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    UPDATE_MASK_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    update_mask: _field_mask_pb2.FieldMask
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ..., update_mask: _Optional[_Union[_field_mask_pb2.FieldMask, _Mapping]] = ...) -> None: ...

class UpdateCustomerResponse(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: Customer
    def __init__(self, customer: _Optional[_Union[Customer, _Mapping]] = ...) -> None: ...

class InsufficientBalancePolicy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SubscriptionStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class MigrationState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

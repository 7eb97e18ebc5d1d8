from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollbooth.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

ADJUSTMENT_DIRECTION_CREDIT: AdjustmentDirection
ADJUSTMENT_DIRECTION_DEBIT: AdjustmentDirection
ADJUSTMENT_DIRECTION_UNSPECIFIED: AdjustmentDirection
ADJUSTMENT_REASON_CORRECTION: AdjustmentReason
ADJUSTMENT_REASON_GRANT: AdjustmentReason
ADJUSTMENT_REASON_REFUND: AdjustmentReason
ADJUSTMENT_REASON_UNSPECIFIED: AdjustmentReason
BALANCE_ALERT_STATE_DEPLETED: BalanceAlertState
BALANCE_ALERT_STATE_LOW: BalanceAlertState
BALANCE_ALERT_STATE_OK: BalanceAlertState
BALANCE_ALERT_STATE_UNSPECIFIED: BalanceAlertState
DESCRIPTOR: _descriptor.FileDescriptor
ENTRY_KIND_ADJUSTMENT: EntryKind
ENTRY_KIND_EXPIRY: EntryKind
ENTRY_KIND_HOLD_CAPTURE: EntryKind
ENTRY_KIND_REFUND: EntryKind
ENTRY_KIND_TOP_UP: EntryKind
ENTRY_KIND_UNSPECIFIED: EntryKind
ENTRY_KIND_USAGE: EntryKind
HOLD_STATUS_ACTIVE: HoldStatus
HOLD_STATUS_CAPTURED: HoldStatus
HOLD_STATUS_EXPIRED: HoldStatus
HOLD_STATUS_RELEASED: HoldStatus
HOLD_STATUS_UNSPECIFIED: HoldStatus
TOP_UP_SOURCE_AUTO_RECHARGE: TopUpSource
TOP_UP_SOURCE_CHECKOUT: TopUpSource
TOP_UP_SOURCE_UNSPECIFIED: TopUpSource
TOP_UP_STATUS_FAILED: TopUpStatus
TOP_UP_STATUS_PENDING: TopUpStatus
TOP_UP_STATUS_REFUNDED: TopUpStatus
TOP_UP_STATUS_SUCCEEDED: TopUpStatus
TOP_UP_STATUS_UNSPECIFIED: TopUpStatus

class AccountBalance(_message.Message):
    __slots__ = ["asset_code", "auto_recharge", "available", "balance", "balance_alert_state", "held", "low_balance_level", "overdraft_limit", "sequence"]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    AUTO_RECHARGE_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_ALERT_STATE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    LOW_BALANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    OVERDRAFT_LIMIT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    asset_code: str
    auto_recharge: AutoRecharge
    available: str
    balance: str
    balance_alert_state: BalanceAlertState
    held: str
    low_balance_level: str
    overdraft_limit: str
    sequence: int
    def __init__(self, asset_code: _Optional[str] = ..., balance: _Optional[str] = ..., held: _Optional[str] = ..., available: _Optional[str] = ..., overdraft_limit: _Optional[str] = ..., auto_recharge: _Optional[_Union[AutoRecharge, _Mapping]] = ..., sequence: _Optional[int] = ..., low_balance_level: _Optional[str] = ..., balance_alert_state: _Optional[_Union[BalanceAlertState, str]] = ...) -> None: ...

class AutoRecharge(_message.Message):
    __slots__ = ["amount", "consecutive_failures", "currency", "enabled", "last_failure_message", "month_to_date", "monthly_cap", "paused", "target_balance", "threshold"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CONSECUTIVE_FAILURES_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    ENABLED_FIELD_NUMBER: _ClassVar[int]
    LAST_FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    MONTHLY_CAP_FIELD_NUMBER: _ClassVar[int]
    MONTH_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    PAUSED_FIELD_NUMBER: _ClassVar[int]
    TARGET_BALANCE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    amount: str
    consecutive_failures: int
    currency: str
    enabled: bool
    last_failure_message: str
    month_to_date: str
    monthly_cap: str
    paused: bool
    target_balance: str
    threshold: str
    def __init__(self, enabled: bool = ..., threshold: _Optional[str] = ..., amount: _Optional[str] = ..., target_balance: _Optional[str] = ..., monthly_cap: _Optional[str] = ..., month_to_date: _Optional[str] = ..., consecutive_failures: _Optional[int] = ..., paused: bool = ..., currency: _Optional[str] = ..., last_failure_message: _Optional[str] = ...) -> None: ...

class CaptureHoldRequest(_message.Message):
    __slots__ = ["amount", "hold_id", "request_id"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    amount: str
    hold_id: str
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., hold_id: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class CaptureHoldResponse(_message.Message):
    __slots__ = ["entry", "hold"]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    entry: LedgerEntry
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ..., entry: _Optional[_Union[LedgerEntry, _Mapping]] = ...) -> None: ...

class CreateAdjustmentRequest(_message.Message):
    __slots__ = ["amount", "customer", "description", "direction", "expire_time", "priority", "reason", "request_id"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    DIRECTION_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    customer: _common_pb2.CustomerRef
    description: str
    direction: AdjustmentDirection
    expire_time: _timestamp_pb2.Timestamp
    priority: int
    reason: AdjustmentReason
    request_id: str
    def __init__(self, request_id: _Optional[str] = ..., customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., direction: _Optional[_Union[AdjustmentDirection, str]] = ..., reason: _Optional[_Union[AdjustmentReason, str]] = ..., description: _Optional[str] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., priority: _Optional[int] = ...) -> None: ...

class CreateAdjustmentResponse(_message.Message):
    __slots__ = ["adjustment_id", "entry"]
    ADJUSTMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_FIELD_NUMBER: _ClassVar[int]
    adjustment_id: str
    entry: LedgerEntry
    def __init__(self, adjustment_id: _Optional[str] = ..., entry: _Optional[_Union[LedgerEntry, _Mapping]] = ...) -> None: ...

class CreateHoldRequest(_message.Message):
    __slots__ = ["amount", "customer", "description", "request_id", "ttl"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    TTL_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    customer: _common_pb2.CustomerRef
    description: str
    request_id: str
    ttl: _duration_pb2.Duration
    def __init__(self, request_id: _Optional[str] = ..., customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., description: _Optional[str] = ...) -> None: ...

class CreateHoldResponse(_message.Message):
    __slots__ = ["hold"]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class CreateTopUpRequest(_message.Message):
    __slots__ = ["amount", "asset_code", "currency", "customer", "request_id", "return_url"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_URL_FIELD_NUMBER: _ClassVar[int]
    amount: str
    asset_code: str
    currency: str
    customer: _common_pb2.CustomerRef
    request_id: str
    return_url: str
    def __init__(self, request_id: _Optional[str] = ..., customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., amount: _Optional[str] = ..., currency: _Optional[str] = ..., asset_code: _Optional[str] = ..., return_url: _Optional[str] = ...) -> None: ...

class CreateTopUpResponse(_message.Message):
    __slots__ = ["top_up"]
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    top_up: TopUp
    def __init__(self, top_up: _Optional[_Union[TopUp, _Mapping]] = ...) -> None: ...

class GetTopUpRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class GetTopUpResponse(_message.Message):
    __slots__ = ["top_up"]
    TOP_UP_FIELD_NUMBER: _ClassVar[int]
    top_up: TopUp
    def __init__(self, top_up: _Optional[_Union[TopUp, _Mapping]] = ...) -> None: ...

class GetWalletRequest(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ...) -> None: ...

class GetWalletResponse(_message.Message):
    __slots__ = ["wallet"]
    WALLET_FIELD_NUMBER: _ClassVar[int]
    wallet: Wallet
    def __init__(self, wallet: _Optional[_Union[Wallet, _Mapping]] = ...) -> None: ...

class Hold(_message.Message):
    __slots__ = ["amount", "captured_amount", "create_time", "customer_id", "expire_time", "id", "status"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CAPTURED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    amount: _common_pb2.Money
    captured_amount: str
    create_time: _timestamp_pb2.Timestamp
    customer_id: str
    expire_time: _timestamp_pb2.Timestamp
    id: str
    status: HoldStatus
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., amount: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., captured_amount: _Optional[str] = ..., status: _Optional[_Union[HoldStatus, str]] = ..., expire_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class LedgerEntry(_message.Message):
    __slots__ = ["amount", "asset_code", "balance_after", "create_time", "description", "kind", "rated_by", "reference", "sequence", "transaction_id"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    BALANCE_AFTER_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RATED_BY_FIELD_NUMBER: _ClassVar[int]
    REFERENCE_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    amount: str
    asset_code: str
    balance_after: str
    create_time: _timestamp_pb2.Timestamp
    description: str
    kind: EntryKind
    rated_by: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProductVersionRef]
    reference: str
    sequence: int
    transaction_id: str
    def __init__(self, transaction_id: _Optional[str] = ..., sequence: _Optional[int] = ..., asset_code: _Optional[str] = ..., amount: _Optional[str] = ..., balance_after: _Optional[str] = ..., kind: _Optional[_Union[EntryKind, str]] = ..., reference: _Optional[str] = ..., description: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., rated_by: _Optional[_Iterable[_Union[_common_pb2.ProductVersionRef, _Mapping]]] = ...) -> None: ...

class ListTransactionsRequest(_message.Message):
    __slots__ = ["after_sequence", "asset_code", "customer", "page_size", "page_token"]
    AFTER_SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    after_sequence: int
    asset_code: str
    customer: _common_pb2.CustomerRef
    page_size: int
    page_token: str
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., asset_code: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., after_sequence: _Optional[int] = ...) -> None: ...

class ListTransactionsResponse(_message.Message):
    __slots__ = ["entries", "next_page_token"]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[LedgerEntry]
    next_page_token: str
    def __init__(self, entries: _Optional[_Iterable[_Union[LedgerEntry, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class ReleaseHoldRequest(_message.Message):
    __slots__ = ["hold_id"]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    hold_id: str
    def __init__(self, hold_id: _Optional[str] = ...) -> None: ...

class ReleaseHoldResponse(_message.Message):
    __slots__ = ["hold"]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    hold: Hold
    def __init__(self, hold: _Optional[_Union[Hold, _Mapping]] = ...) -> None: ...

class SetBalanceAlertRequest(_message.Message):
    __slots__ = ["asset_code", "customer", "low_balance_level"]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    LOW_BALANCE_LEVEL_FIELD_NUMBER: _ClassVar[int]
    asset_code: str
    customer: _common_pb2.CustomerRef
    low_balance_level: str
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., asset_code: _Optional[str] = ..., low_balance_level: _Optional[str] = ...) -> None: ...

class SetBalanceAlertResponse(_message.Message):
    __slots__ = ["account"]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: AccountBalance
    def __init__(self, account: _Optional[_Union[AccountBalance, _Mapping]] = ...) -> None: ...

class TopUp(_message.Message):
    __slots__ = ["create_time", "credit", "customer_id", "failure_message", "id", "payment", "redirect_url", "refunded_amount", "settle_time", "source", "status"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREDIT_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    PAYMENT_FIELD_NUMBER: _ClassVar[int]
    REDIRECT_URL_FIELD_NUMBER: _ClassVar[int]
    REFUNDED_AMOUNT_FIELD_NUMBER: _ClassVar[int]
    SETTLE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    credit: _common_pb2.Money
    customer_id: str
    failure_message: str
    id: str
    payment: _common_pb2.Money
    redirect_url: str
    refunded_amount: str
    settle_time: _timestamp_pb2.Timestamp
    source: TopUpSource
    status: TopUpStatus
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., payment: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., credit: _Optional[_Union[_common_pb2.Money, _Mapping]] = ..., status: _Optional[_Union[TopUpStatus, str]] = ..., source: _Optional[_Union[TopUpSource, str]] = ..., redirect_url: _Optional[str] = ..., refunded_amount: _Optional[str] = ..., failure_message: _Optional[str] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., settle_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UpdateAutoRechargeRequest(_message.Message):
    __slots__ = ["asset_code", "auto_recharge", "customer"]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    AUTO_RECHARGE_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    asset_code: str
    auto_recharge: AutoRecharge
    customer: _common_pb2.CustomerRef
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., asset_code: _Optional[str] = ..., auto_recharge: _Optional[_Union[AutoRecharge, _Mapping]] = ...) -> None: ...

class UpdateAutoRechargeResponse(_message.Message):
    __slots__ = ["account"]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    account: AccountBalance
    def __init__(self, account: _Optional[_Union[AccountBalance, _Mapping]] = ...) -> None: ...

class Wallet(_message.Message):
    __slots__ = ["accounts", "customer_id", "id", "name"]
    ACCOUNTS_FIELD_NUMBER: _ClassVar[int]
    CUSTOMER_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    accounts: _containers.RepeatedCompositeFieldContainer[AccountBalance]
    customer_id: str
    id: str
    name: str
    def __init__(self, id: _Optional[str] = ..., customer_id: _Optional[str] = ..., name: _Optional[str] = ..., accounts: _Optional[_Iterable[_Union[AccountBalance, _Mapping]]] = ...) -> None: ...

class WatchWalletRequest(_message.Message):
    __slots__ = ["customer"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ...) -> None: ...

class WatchWalletResponse(_message.Message):
    __slots__ = ["account", "change_time", "transaction_id"]
    ACCOUNT_FIELD_NUMBER: _ClassVar[int]
    CHANGE_TIME_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    account: AccountBalance
    change_time: _timestamp_pb2.Timestamp
    transaction_id: str
    def __init__(self, account: _Optional[_Union[AccountBalance, _Mapping]] = ..., transaction_id: _Optional[str] = ..., change_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class BalanceAlertState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EntryKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AdjustmentDirection(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class AdjustmentReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class HoldStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TopUpStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class TopUpSource(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

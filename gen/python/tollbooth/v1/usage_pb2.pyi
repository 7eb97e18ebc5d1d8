from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from tollbooth.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
EVENT_STATUS_ACCEPTED: EventStatus
EVENT_STATUS_DUPLICATE: EventStatus
EVENT_STATUS_REJECTED: EventStatus
EVENT_STATUS_UNSPECIFIED: EventStatus
GRANULARITY_DAY: Granularity
GRANULARITY_HOUR: Granularity
GRANULARITY_UNSPECIFIED: Granularity
METER_FORWARD_STATUS_FAILED: MeterForwardStatus
METER_FORWARD_STATUS_FORWARDED: MeterForwardStatus
METER_FORWARD_STATUS_PENDING: MeterForwardStatus
METER_FORWARD_STATUS_UNSPECIFIED: MeterForwardStatus
REJECT_REASON_INSUFFICIENT_BALANCE: RejectReason
REJECT_REASON_INVALID_EVENT: RejectReason
REJECT_REASON_NO_MATCHING_PRICE: RejectReason
REJECT_REASON_UNSPECIFIED: RejectReason
SUMMARY_GROUP_BY_DIMENSION: SummaryGroupBy
SUMMARY_GROUP_BY_EVENT_TYPE: SummaryGroupBy
SUMMARY_GROUP_BY_PRODUCT: SummaryGroupBy
SUMMARY_GROUP_BY_UNSPECIFIED: SummaryGroupBy

class CheckRequest(_message.Message):
    __slots__ = ["customer", "data", "event_type", "hold", "hold_ttl", "quantity", "request_id"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    HOLD_FIELD_NUMBER: _ClassVar[int]
    HOLD_TTL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    data: _struct_pb2.Struct
    event_type: str
    hold: bool
    hold_ttl: _duration_pb2.Duration
    quantity: str
    request_id: str
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., event_type: _Optional[str] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., quantity: _Optional[str] = ..., hold: bool = ..., hold_ttl: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., request_id: _Optional[str] = ...) -> None: ...

class CheckResponse(_message.Message):
    __slots__ = ["allowed", "available", "estimated_cost", "hold_id", "reason"]
    ALLOWED_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    ESTIMATED_COST_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    allowed: bool
    available: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    estimated_cost: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    hold_id: str
    reason: RejectReason
    def __init__(self, allowed: bool = ..., reason: _Optional[_Union[RejectReason, str]] = ..., estimated_cost: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., available: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., hold_id: _Optional[str] = ...) -> None: ...

class EventResult(_message.Message):
    __slots__ = ["balances_after", "event_id", "fees", "message", "original_accepted", "rated_by", "reason", "status", "transaction_id"]
    BALANCES_AFTER_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ORIGINAL_ACCEPTED_FIELD_NUMBER: _ClassVar[int]
    RATED_BY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TRANSACTION_ID_FIELD_NUMBER: _ClassVar[int]
    balances_after: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    event_id: str
    fees: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    message: str
    original_accepted: bool
    rated_by: _containers.RepeatedCompositeFieldContainer[_common_pb2.ProductVersionRef]
    reason: RejectReason
    status: EventStatus
    transaction_id: str
    def __init__(self, event_id: _Optional[str] = ..., status: _Optional[_Union[EventStatus, str]] = ..., reason: _Optional[_Union[RejectReason, str]] = ..., message: _Optional[str] = ..., fees: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., balances_after: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ..., transaction_id: _Optional[str] = ..., original_accepted: bool = ..., rated_by: _Optional[_Iterable[_Union[_common_pb2.ProductVersionRef, _Mapping]]] = ...) -> None: ...

class GetUsageSummaryRequest(_message.Message):
    __slots__ = ["customer", "end_time", "granularity", "group_by", "start_time"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    GRANULARITY_FIELD_NUMBER: _ClassVar[int]
    GROUP_BY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    end_time: _timestamp_pb2.Timestamp
    granularity: Granularity
    group_by: SummaryGroupBy
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., group_by: _Optional[_Union[SummaryGroupBy, str]] = ..., granularity: _Optional[_Union[Granularity, str]] = ...) -> None: ...

class GetUsageSummaryResponse(_message.Message):
    __slots__ = ["buckets"]
    BUCKETS_FIELD_NUMBER: _ClassVar[int]
    buckets: _containers.RepeatedCompositeFieldContainer[UsageBucket]
    def __init__(self, buckets: _Optional[_Iterable[_Union[UsageBucket, _Mapping]]] = ...) -> None: ...

class ListEventsRequest(_message.Message):
    __slots__ = ["customer", "end_time", "event_type", "page_size", "page_token", "start_time"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    end_time: _timestamp_pb2.Timestamp
    event_type: str
    page_size: int
    page_token: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ..., event_type: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ListEventsResponse(_message.Message):
    __slots__ = ["events", "next_page_token"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedCompositeFieldContainer[RecordedEvent]
    next_page_token: str
    def __init__(self, events: _Optional[_Iterable[_Union[RecordedEvent, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class MeterForward(_message.Message):
    __slots__ = ["attempts", "event_name", "failure_reason", "identifier", "status", "value"]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    EVENT_NAME_FIELD_NUMBER: _ClassVar[int]
    FAILURE_REASON_FIELD_NUMBER: _ClassVar[int]
    IDENTIFIER_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    attempts: int
    event_name: str
    failure_reason: str
    identifier: str
    status: MeterForwardStatus
    value: str
    def __init__(self, event_name: _Optional[str] = ..., value: _Optional[str] = ..., status: _Optional[_Union[MeterForwardStatus, str]] = ..., failure_reason: _Optional[str] = ..., attempts: _Optional[int] = ..., identifier: _Optional[str] = ...) -> None: ...

class RecordedEvent(_message.Message):
    __slots__ = ["event", "meter_forwards", "receive_time", "result"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    METER_FORWARDS_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    event: UsageEvent
    meter_forwards: _containers.RepeatedCompositeFieldContainer[MeterForward]
    receive_time: _timestamp_pb2.Timestamp
    result: EventResult
    def __init__(self, event: _Optional[_Union[UsageEvent, _Mapping]] = ..., result: _Optional[_Union[EventResult, _Mapping]] = ..., receive_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., meter_forwards: _Optional[_Iterable[_Union[MeterForward, _Mapping]]] = ...) -> None: ...

class TrackEventsRequest(_message.Message):
    __slots__ = ["customer", "events", "hold_id"]
    CUSTOMER_FIELD_NUMBER: _ClassVar[int]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    HOLD_ID_FIELD_NUMBER: _ClassVar[int]
    customer: _common_pb2.CustomerRef
    events: _containers.RepeatedCompositeFieldContainer[UsageEvent]
    hold_id: str
    def __init__(self, customer: _Optional[_Union[_common_pb2.CustomerRef, _Mapping]] = ..., events: _Optional[_Iterable[_Union[UsageEvent, _Mapping]]] = ..., hold_id: _Optional[str] = ...) -> None: ...

class TrackEventsResponse(_message.Message):
    __slots__ = ["results"]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[EventResult]
    def __init__(self, results: _Optional[_Iterable[_Union[EventResult, _Mapping]]] = ...) -> None: ...

class UsageBucket(_message.Message):
    __slots__ = ["event_count", "fees", "key", "quantity", "start_time"]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    FEES_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    event_count: int
    fees: _containers.RepeatedCompositeFieldContainer[_common_pb2.Money]
    key: str
    quantity: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., key: _Optional[str] = ..., event_count: _Optional[int] = ..., quantity: _Optional[str] = ..., fees: _Optional[_Iterable[_Union[_common_pb2.Money, _Mapping]]] = ...) -> None: ...

class UsageEvent(_message.Message):
    __slots__ = ["data", "event_type", "id", "occurred_at", "subject"]
    DATA_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    data: _struct_pb2.Struct
    event_type: str
    id: str
    occurred_at: _timestamp_pb2.Timestamp
    subject: str
    def __init__(self, id: _Optional[str] = ..., event_type: _Optional[str] = ..., subject: _Optional[str] = ..., occurred_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., data: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class EventStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RejectReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class MeterForwardStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class SummaryGroupBy(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class Granularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

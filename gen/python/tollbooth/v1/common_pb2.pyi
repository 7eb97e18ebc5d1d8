from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class CustomerRef(_message.Message):
    __slots__ = ["external_id", "id"]
    EXTERNAL_ID_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    external_id: str
    id: str
    def __init__(self, id: _Optional[str] = ..., external_id: _Optional[str] = ...) -> None: ...

class Money(_message.Message):
    __slots__ = ["amount", "asset_code"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    ASSET_CODE_FIELD_NUMBER: _ClassVar[int]
    amount: str
    asset_code: str
    def __init__(self, asset_code: _Optional[str] = ..., amount: _Optional[str] = ...) -> None: ...

class ProductVersionRef(_message.Message):
    __slots__ = ["product_code", "product_id", "version"]
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    PRODUCT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    product_code: str
    product_id: str
    version: int
    def __init__(self, product_id: _Optional[str] = ..., product_code: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

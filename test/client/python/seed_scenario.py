"""The seed scenario from Python (run by test/client/python.test.ts against a live engine): a product, a customer, $10
of credit, 100 events at $0.05, the balance, a replayed event, an error's reason from grpc-status-details-bin, and a
WatchWallet stream receiving a change. Prints one JSON object of what it saw; the TypeScript test asserts on it.

    SEED_GRPC_TARGET=127.0.0.1:50051 SEED_API_KEY=... PYTHONPATH=gen/python:clients/python python3 seed_scenario.py
"""
import json
import os
import sys

import tollbooth_client
from tollbooth.v1 import catalog_pb2, common_pb2, customer_pb2, usage_pb2, wallet_pb2

suffix = sys.argv[1] if len(sys.argv) > 1 else "py"
out = {}
with tollbooth_client.connect(os.environ["SEED_GRPC_TARGET"], os.environ["SEED_API_KEY"]) as tb:
    code = f"image-gen-{suffix}"
    product = tb.catalog.CreateProduct(catalog_pb2.CreateProductRequest(
        request_id=f"seed-product-{suffix}", code=code, name="AI Image Generation", publish=True,
        prices=[catalog_pb2.Price(
            name="Images", event_type="image_generated", calculation=catalog_pb2.USAGE_CALCULATION_UNIT,
            rates=[catalog_pb2.PriceRate(unit_prices=[common_pb2.Money(asset_code="USD", amount="0.05")])],
        )],
    )).product
    out["product"] = {"code": product.code, "status": catalog_pb2.ProductStatus.Name(product.status)}

    external_id = f"jane-{suffix}"
    customer = tb.customers.CreateCustomer(customer_pb2.CreateCustomerRequest(
        request_id=f"seed-customer-{suffix}", external_id=external_id, name="Jane Doe", product_codes=[code],
    )).customer
    jane = common_pb2.CustomerRef(external_id=external_id)
    out["customer"] = {"id_prefix": customer.id[:4], "wallet_prefix": customer.wallet_id[:4]}

    watch = tb.wallets.WatchWallet(wallet_pb2.WatchWalletRequest(customer=jane), timeout=30)
    initial = next(watch)
    out["watch_initial"] = {"asset": initial.account.asset_code, "balance": initial.account.balance}

    tb.wallets.CreateAdjustment(wallet_pb2.CreateAdjustmentRequest(
        request_id=f"seed-grant-{suffix}", customer=jane, amount=common_pb2.Money(asset_code="USD", amount="10"),
        direction=wallet_pb2.ADJUSTMENT_DIRECTION_CREDIT, reason=wallet_pb2.ADJUSTMENT_REASON_GRANT,
        description="Welcome credit",
    ))
    change = next(watch)
    while not change.transaction_id:  # hold changes carry no transaction
        change = next(watch)
    out["watch_change"] = {"balance": change.account.balance, "has_transaction": change.transaction_id.startswith("txn_")}
    watch.cancel()

    events = [usage_pb2.UsageEvent(id=f"img-{i:04d}", event_type="image_generated", subject="user-42") for i in range(100)]
    results = tb.usage.TrackEvents(usage_pb2.TrackEventsRequest(customer=jane, events=events)).results
    out["tracked"] = {
        "statuses": sorted({usage_pb2.EventStatus.Name(r.status) for r in results}),
        "count": len(results),
        "last_balance": results[-1].balances_after[0].amount,
    }
    wallet = tb.wallets.GetWallet(wallet_pb2.GetWalletRequest(customer=jane)).wallet
    out["balance"] = [[a.asset_code, a.balance] for a in wallet.accounts]

    replay = tb.usage.TrackEvents(usage_pb2.TrackEventsRequest(customer=jane, events=events[:1])).results[0]
    out["replay"] = {"status": usage_pb2.EventStatus.Name(replay.status), "balance_after": replay.balances_after[0].amount}
    out["balance_after_replay"] = tb.wallets.GetWallet(wallet_pb2.GetWalletRequest(customer=jane)).wallet.accounts[0].balance

    try:
        tb.catalog.GetProduct(catalog_pb2.GetProductRequest(code="no-such-product"))
        out["not_found"] = None
    except tollbooth_client.TollboothError as e:
        out["not_found"] = {"code": e.code.name, "reason": e.reason, "message": e.message}
    try:
        tb.customers.CreateCustomer(customer_pb2.CreateCustomerRequest(request_id=f"bad-{suffix}", email="not-an-email"))
        out["invalid"] = None
    except tollbooth_client.TollboothError as e:
        out["invalid"] = {"code": e.code.name, "reason": e.reason, "field": e.field}

print(json.dumps(out, sort_keys=True))

"""``POST /webhooks/{hook_id}``: alerts from TradingView, 3Commas-style signals, scripts.

No login: the alert proves itself with its trigger's secret, in the body (TradingView
cannot sign) or as an ``X-Signature: sha256=<hex>`` HMAC of the raw body. The answer is
immediate (TradingView gives up after 3 seconds): 202 ``accepted`` with the run queued,
or 200 ``duplicate`` when the same alert was already accepted within the trigger's
window. A wrong secret (401), a stale or malformed alert (422), an unknown hook (404) or
a disabled task (409) changes nothing.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from task_station.api.deps import ServicesDep
from task_station.api.task_schemas import WebhookOut
from task_station.domain.errors import ValidationError
from task_station.services.task_webhooks import MAX_WEBHOOK_BYTES

router = APIRouter(prefix="/webhooks", tags=["webhooks"])


@router.post("/{hook_id}", status_code=202)
async def receive_alert(
    hook_id: str, request: Request, response: Response, services: ServicesDep
) -> WebhookOut:
    declared = request.headers.get("content-length", "0")
    if declared.isdigit() and int(declared) > MAX_WEBHOOK_BYTES:
        raise ValidationError(f"the alert is larger than {MAX_WEBHOOK_BYTES} bytes")
    body = await request.body()
    receipt = services.tasks.receive_webhook(hook_id, body, dict(request.headers))
    if receipt.status != "accepted":
        response.status_code = 200
    return WebhookOut.of(receipt)

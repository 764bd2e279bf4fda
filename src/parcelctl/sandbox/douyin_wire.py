"""The Douyin gateway's envelope and the sandbox's error codes (shared by its modules).

The envelope's keys are vendor-confirmed (``core/doudian_op_api_base_response.go`` in the
SDK mirror ``zsmhub/doudian-sdk``: ``log_id``, ``code``, ``msg``, ``sub_code``,
``sub_msg``; ``code == 10000`` is success). The error code *values* are SANDBOX-ONLY: no
vendor code table is known.
"""

from __future__ import annotations

import secrets
from typing import Any

from .base import Response, json_response

SUCCESS = 10000
MISSING_PARAM, BAD_PARAM, BAD_SIGN, BAD_TOKEN, BAD_GRANT, BUSINESS, THROTTLED = (
    40001, 40002, 40004, 30002, 40010, 50002, 90000)


def envelope(data: Any = None, code: int = SUCCESS, msg: str = "success", sub_code: str = "",
             sub_msg: str = "", status: int = 200) -> Response:
    return json_response({"code": code, "data": data if data is not None else {}, "msg": msg,
                          "sub_code": sub_code, "sub_msg": sub_msg,
                          "log_id": secrets.token_hex(10)}, status)

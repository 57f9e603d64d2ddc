"""Daiou's WSGI application for bench/instructions.py: two more paths switch callgrind's
counting on and off inside the worker that answers them (valgrind's client requests, through a
helper the script compiles). Only ever served by that script, under valgrind."""

import ctypes
import os

from config.wsgi import application as daiou

_toggle = ctypes.CDLL(os.environ["DAIOU_CALLGRIND_TOGGLE"])


def application(environ, start_response):
    path = environ.get("PATH_INFO", "")
    if path in ("/__callgrind/start", "/__callgrind/stop"):
        (_toggle.daiou_callgrind_start if path.endswith("start") else _toggle.daiou_callgrind_stop)()
        start_response("204 No Content", [])
        return []
    return daiou(environ, start_response)

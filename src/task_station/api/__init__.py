"""The REST and WebSocket face of the station: FastAPI routers over the services bundle.

This is the only package that imports FastAPI, Starlette and uvicorn. Routes validate,
call one service method and map the result; the WebSocket hub relays bus events.
"""

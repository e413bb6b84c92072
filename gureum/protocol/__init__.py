"""Wire protocols, sans-IO, driven by botocore's service models.

Each protocol module exposes the same three functions (see :mod:`.base`):

* ``parse_request(operation, request) -> dict`` – HTTP request → validated
  input dict shaped like the operation's input shape (member names as in the
  model).  Raises :class:`gureum.core.errors.ProtocolError` for undecodable
  bytes and :class:`gureum.core.errors.ValidationError` for constraint
  failures.
* ``serialize_response(operation, output, meta) -> HttpResponse``
* ``serialize_error(service, error, meta) -> HttpResponse``

plus, for finding the operation, ``find_operation(service, request)``.
No sockets, no asyncio, no store here: bytes in, values out.
"""

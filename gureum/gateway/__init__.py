"""HTTP edge: one port, routing to a service and operation, errors."""

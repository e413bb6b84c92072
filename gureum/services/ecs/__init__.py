"""Amazon ECS: clusters, task definitions, tasks and services that run for real.

api.py assembles the handlers (api_*.py, one per resource); the handlers only
record intent.  task_controller.py and service_controller.py reconcile, using
the pure cores task_lifecycle.py, service_reconcile.py and placement.py.
"""

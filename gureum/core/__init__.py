"""Engine: clock, store, bus, ids/ARNs, errors and the controller runner.

Nothing here knows about HTTP, a wire protocol or a particular AWS service.
"""

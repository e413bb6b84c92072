"""Running builds for real: the controller, one run per build, its shell sessions."""

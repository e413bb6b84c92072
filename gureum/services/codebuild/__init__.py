"""CodeBuild: projects, and builds that really run (see api.py)."""

"""ECR: repositories (control plane) and the OCI registry under /v2/ (data plane)."""

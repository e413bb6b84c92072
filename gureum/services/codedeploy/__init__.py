"""CodeDeploy: applications, deployment groups and deployments that really run (see README.md)."""

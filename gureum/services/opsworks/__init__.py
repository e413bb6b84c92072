"""OpsWorks Stacks, revived: stacks, layers, instances, apps, deployments,
lifecycle recipes run by an agent in every instance, and auto-healing.
See README.md in this folder."""

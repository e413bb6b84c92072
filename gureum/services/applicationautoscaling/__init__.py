"""Application Auto Scaling ("application-autoscaling", JSON protocol): scalable targets (ECS services) and their policies."""

"""EC2 Auto Scaling ("autoscaling", query protocol): groups whose instances are real EC2 instances."""

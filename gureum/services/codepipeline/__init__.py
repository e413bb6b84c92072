"""CodePipeline: pipelines that orchestrate real S3, CodeBuild, ECS, Lambda and job-worker actions."""

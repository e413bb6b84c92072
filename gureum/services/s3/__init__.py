"""S3: buckets, objects, versions and multipart uploads; bodies live in files under the data dir."""

"""Deployment files for a target: a Dockerfile, docker-compose, Kubernetes objects and a KServe
InferenceService (reef export compose|k8s|kserve), every manifest feature mapped or refused."""

// filled in with docs/grpc-api.md

"""gateway: HTTP/JSON and the portal's web pages in front of the gRPC services."""

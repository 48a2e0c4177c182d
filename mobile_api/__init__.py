"""The HTTP surface for phones and consoles: /graphql, health checks, REST helpers."""

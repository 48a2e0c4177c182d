"""GraphQL of notifications: push devices and the inbox."""

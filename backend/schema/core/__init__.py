"""What every domain's schema package shares: payload errors, pagination, scalars, loaders."""

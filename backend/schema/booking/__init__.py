"""GraphQL of booking (预约先办) and of the signed-in user."""

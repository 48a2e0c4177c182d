"""GraphQL of guidance (线上导办): service items, guides, checklists."""

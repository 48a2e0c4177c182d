"""What every domain shares: the clock, API ids, paging, errors, the unit of work and events."""

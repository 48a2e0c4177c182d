"""GraphQL of accounts: who is signed in and their role grants."""

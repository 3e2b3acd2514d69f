"""What starts a promotion: the CI event, read once into typed data, and the slash commands."""

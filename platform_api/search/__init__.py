"""Search (spec §6.8): styles by tag and name, artists by artist name and username; tag moderation."""

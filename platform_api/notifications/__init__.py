"""Notifications (spec §6.9): written with their cause, listed and rendered in the reader's language."""

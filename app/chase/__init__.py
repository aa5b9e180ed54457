"""The chase list: dispatched packs never reported, and reminders to their groups."""

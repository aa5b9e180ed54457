"""Case and campaign management: cases, photos, outcome updates, campaigns, the case timeline."""

"""Staff tracking: one module of figures (stats), the dashboard, CSV exports and the audit log."""

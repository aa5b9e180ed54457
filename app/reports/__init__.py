"""The pack page, posting reports, and staff corrections of reports."""

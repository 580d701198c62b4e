"""Date and time formats of the pages Django renders (the admin above all): ``FORMAT_MODULE_PATH``."""

"""newsbot's edges: the command line, the terminal chat and the Telegram bot."""

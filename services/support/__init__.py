"""support: Help & Contact tickets, help catalogue, and the one mailer of the system."""

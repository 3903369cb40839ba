"""identity: V-identifiers, credentials, sessions, lockout, recovery, the ASL console."""

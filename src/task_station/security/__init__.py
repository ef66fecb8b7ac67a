"""Users, passwords, tokens, the secrets vault and the audit trail."""

"""Limits on what members may do how often: the new-member gate, e-mail confirmation at sign-up,
rate limits (posting, sign-up, failed logins, reports, searches, the indicator lookup)."""

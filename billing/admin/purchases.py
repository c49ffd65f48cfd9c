"""Admin for prices, purchases, payment sessions, gateway notifications and the review queue."""

"""Web Push channel: VAPID identity and the RFC 8030/8291 transport."""

"""Delivery channels: Twilio voice and SMS, SMTP email, one protocol; the Twilio simulator."""

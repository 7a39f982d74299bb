"""Delivery channels (Twilio voice and SMS, SMTP email) behind one protocol, and the Twilio simulator."""

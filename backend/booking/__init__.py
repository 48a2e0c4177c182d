"""Booking (预约先办): windows, weekly schedule templates, slots and appointments.

The booking invariants live here: capacity is enforced by a conditional update inside the
transaction that creates the appointment, and every rule is checked under the resident's lock."""

"""Bookings: the school calendar, the rules of a booking cell, the planning grids,
attendance (roster) and occupancy."""

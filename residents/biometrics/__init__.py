"""Face and voice recognition: pure functions (no Django), models loaded lazily."""

"""Keys: a call's arguments and a function's code and captured data, hashed canonically."""

// tests written by the module owner

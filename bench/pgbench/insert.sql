-- A patient of :owner, as POST /api/patients/ stores it (without its audit row).
INSERT INTO patients (name, date_of_birth, gender, phone, email, address, medical_history, created_by_id, created_at, updated_at)
VALUES ('Layouttest Jones ' || (random() * 1000000)::int, NULL, 'unknown', '+1 555 0100', 'layouttest.jones@example.com', '1 Main St', 'none', :owner, now(), now());

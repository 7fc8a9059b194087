-- The admin changelist's page for ?q=<pat>: staff-wide, newest first, one row
-- more than the page to know whether there is a next one.
SELECT * FROM "patients" WHERE (LOWER(patients.name) LIKE :pat ESCAPE '\' OR LOWER(patients.email) LIKE :pat ESCAPE '\' OR LOWER(patients.phone) LIKE :pat ESCAPE '\') ORDER BY patients.created_at DESC,patients.id DESC LIMIT 101;

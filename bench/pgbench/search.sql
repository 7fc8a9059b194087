-- The two statements of GET /api/patients/?search=<pat> for the owner :owner,
-- exactly as the server sends them (count, then the first page).
SELECT count(*) FROM "patients" WHERE created_by_id = :owner AND ((LOWER(name) LIKE :pat ESCAPE '\' OR LOWER(email) LIKE :pat ESCAPE '\' OR LOWER(phone) LIKE :pat ESCAPE '\'));
SELECT * FROM "patients" WHERE created_by_id = :owner AND ((LOWER(name) LIKE :pat ESCAPE '\' OR LOWER(email) LIKE :pat ESCAPE '\' OR LOWER(phone) LIKE :pat ESCAPE '\')) ORDER BY created_at DESC,id DESC LIMIT 20;

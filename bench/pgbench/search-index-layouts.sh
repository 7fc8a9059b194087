#!/usr/bin/env bash
# Compares layouts of the trigram indexes on patients by what the database
# alone does with the server's statements (BENCHMARKS.md, "Latest runs"):
#   bench/pgbench/search-index-layouts.sh DB OWNER PATTERN
# e.g. bench/pgbench/search-index-layouts.sh healthcare_bench_p1000000_o50000 1 %jones%
# DB is a benchmark database (go run ./bench seeds one); its search indexes
# are dropped and rebuilt per layout, and left as the server makes them.
# Needs pgbench (Debian: postgresql-client) and pg_trgm and btree_gin.
set -euo pipefail
db=$1 owner=$2 pat=$3
here=$(cd "$(dirname "$0")" && pwd)
psql=(psql -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -d "$db" -q -v ON_ERROR_STOP=1)
column() { printf 'CREATE INDEX %s ON patients USING gin (%slower(%s) gin_trgm_ops)' "$1" "$2" "$3"; }
per_column() { for c in name email phone; do "${psql[@]}" -c "$(column "idx_patients_${c}_trgm" "" "$c")"; done; }
owner_one() { for c in name email phone; do "${psql[@]}" -c "$(column "layout_owner_${c}" "created_by_id, " "$c")"; done; }
owner_all() {
	"${psql[@]}" -c "CREATE INDEX idx_patients_owner_search ON patients USING gin (created_by_id, lower(name) gin_trgm_ops, lower(email) gin_trgm_ops, lower(phone) gin_trgm_ops)"
}
layout() {
	"${psql[@]}" -c "DROP INDEX IF EXISTS idx_patients_name_trgm, idx_patients_email_trgm, idx_patients_phone_trgm,
	  idx_patients_owner_search, layout_owner_name, layout_owner_email, layout_owner_phone"
	for part in "$@"; do "$part"; done
	"${psql[@]}" -c "VACUUM ANALYZE patients"
}
tps() {
	pgbench -h "${PGHOST:-127.0.0.1}" -U "${PGUSER:-postgres}" -n -M prepared -c 16 -j 2 -T 6 \
		-D owner="$owner" -D pat="$pat" -f "$here/$1" "$db" | awk '/^tps/ {printf "%.0f", $3}'
}
printf '| layout | search tps | admin tps | insert tps |\n|---|---:|---:|---:|\n'
for l in "per_column" "owner_all" "owner_one" "per_column owner_one" "per_column owner_all"; do
	# shellcheck disable=SC2086
	layout $l
	printf '| %s | %s | %s | %s |\n' "$l" "$(tps search.sql)" "$(tps admin.sql)" "$(tps insert.sql)"
	"${psql[@]}" -c "DELETE FROM patients WHERE email = 'layouttest.jones@example.com'"
done

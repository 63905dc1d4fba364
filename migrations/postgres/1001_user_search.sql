-- Search over users' emails and display names: trigram GIN indexes (pg_trgm, a trusted
-- extension) on the lower-cased columns, which serve `lower(column) LIKE '%text%'`.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX users_search_email ON users USING gin (lower(primary_email) gin_trgm_ops);
CREATE INDEX users_search_name ON users USING gin (lower(display_name) gin_trgm_ops);
